import { Component, type ReactNode } from 'react';

/** A screen that fails to render says so, instead of leaving an empty page; the navigation stays usable. */
export class ErrorBoundary extends Component<{ children: ReactNode }, { error?: Error }> {
  override state: { error?: Error } = {};

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  override render() {
    if (!this.state.error) return this.props.children;
    return (
      <p role="alert" className="refusal">
        This screen failed to show: {this.state.error.message}. Reload the page to try again.
      </p>
    );
  }
}

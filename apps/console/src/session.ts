/** The credential, kept for the browser tab's session only (sessionStorage): closing the tab signs out. */
const key = 'tally.console.token';

export const session = {
  token: (): string | undefined => sessionStorage.getItem(key) ?? undefined,
  signIn: (token: string) => sessionStorage.setItem(key, token),
  signOut: () => sessionStorage.removeItem(key),
};

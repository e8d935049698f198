import { Link } from '../components/link';

export const NotFoundScreen = () => (
  <>
    <h1>Not found</h1>
    <p>
      The console has no page at this address. <Link href="/">Go to the overview</Link>.
    </p>
  </>
);

import { useState } from 'preact/hooks';

/**
 * A user's action (a write) and its error: `run` clears the last error, runs the
 * action and keeps its error for the page to show; it resolves to whether it worked.
 */
export function useAction(afterSuccess?: () => void): {
  error: unknown;
  run: (action: () => Promise<unknown>) => Promise<boolean>;
} {
  const [error, setError] = useState<unknown>();
  const run = async (action: () => Promise<unknown>): Promise<boolean> => {
    setError(undefined);
    try {
      await action();
      afterSuccess?.();
      return true;
    } catch (err) {
      setError(err);
      return false;
    }
  };
  return { error, run };
}

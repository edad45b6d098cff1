// Runs one pub/sub handler so that neither a throw nor a rejected promise reaches the other handlers or the process.

export type KvErrorHandler = (error: unknown) => void;

/** Where handler and subscriber-connection errors go when the caller passes no `onError`. */
export const reportToStderr: KvErrorHandler = (error) => {
  console.error('[kv] pub/sub error', error);
};

export function deliverSafely(handler: (message: string) => void, message: string, onError: KvErrorHandler): void {
  try {
    // Handlers are typed as returning void, but an async one still returns a promise: catch its rejection too,
    // or one bad handler becomes an unhandledRejection that stops the process.
    const result: unknown = handler(message);
    if (result instanceof Promise) result.catch(onError);
  } catch (error) {
    onError(error);
  }
}

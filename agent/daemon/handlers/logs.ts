import type { AreaHandlers, Services } from './services.js';

/** The log export, streamed to the client as data frames before the final answer. */
export function logHandlers(s: Services): AreaHandlers<'logs.export'> {
  return {
    'logs.export': async ({ as, password, unencrypted }, ctx) => {
      const { zip, encrypted } = await s.logExports.open(as, password, unencrypted, ctx.origin);
      try {
        await ctx.stream(zip.archive, () => ({ done: zip.doneBytes(), total: zip.totalBytes }));
      } catch (err) {
        zip.abort();
        s.logExports.interrupted(as, err);
        throw err;
      }
      return { files: zip.files, logBytes: zip.totalBytes, encrypted };
    },
  };
}

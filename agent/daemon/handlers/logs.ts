import type { AreaHandlers, Services } from './services.js';

/** The log export, streamed to the client as data frames before the final answer. */
export function logHandlers(s: Services): AreaHandlers<'logs.export'> {
  return {
    'logs.export': async ({ unencrypted }, ctx, actor) => {
      const { zip, encrypted } = await s.logExports.open(actor, unencrypted);
      try {
        await ctx.stream(zip.archive, () => ({ done: zip.doneBytes(), total: zip.totalBytes }));
      } catch (err) {
        zip.abort();
        s.logExports.interrupted(actor, err);
        throw err;
      }
      return { files: zip.files, logBytes: zip.totalBytes, encrypted };
    },
  };
}

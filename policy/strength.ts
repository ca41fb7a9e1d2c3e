/**
 * Password strength estimation (zxcvbn-ts with its common and English dictionaries).
 * The dictionaries are large (~80 MB of heap), so they are imported only when asked for.
 */
export type StrengthEstimator = (password: string, userInputs: readonly string[]) => number;

export async function loadStrengthEstimator(): Promise<StrengthEstimator> {
  const [{ ZxcvbnFactory }, common, en] = await Promise.all([
    import('@zxcvbn-ts/core'),
    import('@zxcvbn-ts/language-common'),
    import('@zxcvbn-ts/language-en'),
  ]);
  const zxcvbn = new ZxcvbnFactory({
    graphs: common.adjacencyGraphs,
    dictionary: { ...common.dictionary, ...en.dictionary },
  });
  return (password, userInputs) => zxcvbn.check(password, [...userInputs]).score;
}

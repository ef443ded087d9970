/** Raised when a renderer is given input it cannot render safely. A caller-side defect: map to 4xx/5xx at the edge. */
export class SnippetInputError extends Error {
  public override readonly name = 'SnippetInputError';

  public constructor(
    message: string,
    /** Dotted path of the offending input field, e.g. `workload.serviceAccounts`. */
    public readonly path: string,
  ) {
    super(message);
  }
}

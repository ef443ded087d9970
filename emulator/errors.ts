/** An error the emulator answers with, in the calling protocol's shape. */
export class AwsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly httpStatus = 400,
    readonly type: 'Sender' | 'Receiver' = httpStatus >= 500 ? 'Receiver' : 'Sender',
  ) {
    super(message);
    this.name = 'AwsError';
  }
}

export const accessDenied = (message: string): AwsError => new AwsError('AccessDenied', message, 403);

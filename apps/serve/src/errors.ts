/** HTTP errors with the JSON body every error response uses: `{ error, message, statusCode, code }`. */

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  413: 'Payload Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  431: 'Request Header Fields Too Large',
  499: 'Client Closed Request',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** The reason phrase of a status code. */
export function reason(statusCode: number): string {
  return REASONS[statusCode] ?? (statusCode >= 500 ? 'Internal Server Error' : 'Bad Request');
}

/** The body of every error response. */
export interface ErrorBody {
  error: string;
  message: string;
  statusCode: number;
  code: string;
}

/** An error that becomes an HTTP response with this status, code and message. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }

  toBody(): ErrorBody {
    return { error: reason(this.statusCode), message: this.message, statusCode: this.statusCode, code: this.code };
  }
}

/** A bad server configuration (models directory, limits, flags); thrown by createServer. */
export class ServeConfigError extends Error {
  override readonly name = 'ServeConfigError';
}

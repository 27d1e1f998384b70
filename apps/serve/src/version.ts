/** Version of @nfdm/serve (kept in step with package.json). */
export const SERVE_VERSION = '0.1.0';

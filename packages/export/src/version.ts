/** Version of @nfdm/export written into exported files (kept equal to package.json by a test). */
export const NFDM_EXPORT_VERSION = '0.1.0';

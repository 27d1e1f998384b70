/**
 * @nfdm/export/runtime — deprecated alias of `@nfdm/runtime`, kept so existing imports work.
 * The runtime moved to its own package, which installs without tfjs: import `@nfdm/runtime`.
 *
 * @deprecated Import from `@nfdm/runtime`.
 */
export * from '@nfdm/runtime';

/**
 * The header that carries a session's CSRF token on writes. In a module of its own, without
 * schemas, so that a browser bundle that needs only the name does not carry zod.
 */
export const csrfHeader = 'x-runtools-csrf';

/** Time limits and names of Dockerfile builds. */

export const DEFAULT_BUILD_TIMEOUT_MS = 30 * 60_000;

/** Until a pull shows progress (the registry answered): then it gets the long timeout. */
export const PULL_CONNECT_TIMEOUT_MS = 25_000;

export const PULL_TIMEOUT_MS = 20 * 60_000;

export const SHORT_TIMEOUT_MS = 2 * 60_000;

export const STORAGE_TIMEOUT_MS = 10 * 60_000;

export const COPY_TIMEOUT_MS = 30 * 60_000;

/** The sandbox uid range: uid 0..65535 inside is idBase..idBase+65535 on disk. */
export const ID_RANGE = 65536;

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export const TEMPLATE_IMAGE_PREFIX = 'localhost/runtools-template/';

export const LOG_MARK = '==> ';

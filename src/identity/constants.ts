/** public keys whose rule check (and OpenSSL key object) is remembered */
export const KEY_CACHE_SIZE = 16_384
/** key file permissions: owner read/write only */
export const KEY_FILE_MODE = 0o600
export const KEY_FILE_NAME = 'key.json'
export const KEY_FILE_VERSION = 1
/** a key file is tiny; anything larger is not one */
export const KEY_FILE_MAX_BYTES = 4096

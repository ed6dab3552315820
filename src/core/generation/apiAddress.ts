/**
 * Where the Messages API is, and so where the API key is sent. Only the user chooses it: a
 * command-line flag, the environment (`ANTHROPIC_BASE_URL`) or the editor's user settings. A
 * workspace file or a batch stored in the database never does: a cloned repository must not be
 * able to send the user's key to its own server. The address is checked before any request:
 * `https:` anywhere, plain `http:` only to this machine (a local proxy or a test server).
 */
import { isIP } from 'node:net';

export interface ApiAddressSource {
  readonly value: string;
  /** Where it came from, for messages: `--api-base-url`, `ANTHROPIC_BASE_URL`, a setting. */
  readonly from: string;
}

export class ApiAddressError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ApiAddressError';
  }
}

/**
 * The first address given, in the order the caller ranks its sources, checked; undefined when none
 * is given (the SDK's default, Anthropic's API). Throws `ApiAddressError` naming the source.
 */
export function resolveApiAddress(sources: readonly (ApiAddressSource | undefined)[]): string | undefined {
  const chosen = sources.find((s): s is ApiAddressSource => s !== undefined && s.value.trim() !== '');
  if (!chosen) return undefined;
  return checkApiAddress(chosen.value.trim(), chosen.from);
}

/** The address if it is usable, else why not. */
export function checkApiAddress(value: string, from: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // Not echoed: a key pasted into the wrong variable must not reach the terminal or a log.
    throw new ApiAddressError(`the API address from ${from} is not a URL: give one such as https://api.anthropic.com`);
  }
  if (url.username || url.password) throw new ApiAddressError(`the API address from ${from} holds a user name or password: give the address alone (the key is sent as a header)`);
  if (url.protocol === 'https:') return value;
  if (url.protocol === 'http:') {
    if (isLoopback(url.hostname)) return value;
    throw new ApiAddressError(
      `refusing to send the API key over plain http to ${url.host} (from ${from}): use https://, or http:// only to this machine (localhost, 127.0.0.1, [::1])`,
    );
  }
  throw new ApiAddressError(`the API address from ${from} must start with https:// (it starts with ${url.protocol})`);
}

/**
 * localhost, 127.0.0.0/8 and ::1: traffic that never leaves this machine. Only the name
 * `localhost` itself: a name under it goes through ordinary name lookup, which a resolver's
 * search domains may send elsewhere.
 */
export function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1';
  return false;
}

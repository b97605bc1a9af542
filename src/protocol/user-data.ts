/**
 * The `user_data` of a sign-in (Pusher's user authentication), already verified against its signature as the exact
 * string sent: a JSON object with a non-empty string `id`, and optionally a `watchlist` of user ids.
 */
export interface SignedInUser {
  readonly id: string;
  /** The user ids watched, each once; empty without a watchlist (or when watchlists are off). */
  readonly watchlist: readonly string[];
  /** Why the watchlist given was refused: the user is signed in without one. */
  readonly watchlistProblem?: string;
}

export interface UserDataLimits {
  /** Whether watchlists count at all (the app's watchlistEvents); when not, `watchlist` is ignored. */
  readonly watchlistEvents: boolean;
  readonly maxWatchlistSize: number;
}

/** The user, or undefined when `user_data` is not an object with a non-empty string `id` (the sign-in is refused). */
export function parseUserData(userData: string, limits: UserDataLimits): SignedInUser | undefined {
  let value: unknown;
  try {
    value = JSON.parse(userData);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { id, watchlist } = value as { id?: unknown; watchlist?: unknown };
  if (typeof id !== 'string' || id === '') return undefined;
  if (!limits.watchlistEvents || watchlist === undefined) return { id, watchlist: [] };
  const problem = watchlistProblem(watchlist, limits.maxWatchlistSize);
  if (problem) return { id, watchlist: [], watchlistProblem: problem };
  return { id, watchlist: [...new Set((watchlist as Array<string | number>).map(String))] };
}

/**
 * A watchlist is an array of at most `max` user ids, each a non-empty string or a number (normalised to a string,
 * as presence user ids are).
 */
function watchlistProblem(watchlist: unknown, max: number): string | undefined {
  if (!Array.isArray(watchlist)) return 'user_data.watchlist must be an array of user ids';
  if (watchlist.length > max) return `user_data.watchlist has ${watchlist.length} user ids, over the limit of ${max}`;
  const bad = watchlist.findIndex((id) => !((typeof id === 'string' && id !== '') || (typeof id === 'number' && Number.isFinite(id))));
  return bad < 0 ? undefined : `user_data.watchlist[${bad}] must be a non-empty string or a number`;
}

// The English texts, and the source of the dictionary's shape: ru.ts is typed as `Dictionary`, so
// a key missing there (or one added there only) fails `tsc`. Texts that take values are functions;
// money and times arrive already formatted by the caller.
import type { ErrorCode } from '@cyberhub/sdk';
import { plural } from './locale';

/** What an error text may use besides its code: both optional, the server sends them for some codes only. */
export interface ErrorDetails {
  /** Seconds until a retry may succeed (`Retry-After`). */
  seconds?: number;
  /** When the refusal ends, formatted ("18:30"). */
  until?: string;
}

type ErrorText = string | ((details: ErrorDetails) => string);

export const en = {
  title: 'CyberHub — live',
  language: { label: 'Language', names: { ru: 'Русский', en: 'English' } },
  topBar: {
    admin: 'admin',
    logOut: 'Log out',
    toppedUp: (amount: string) => `+${amount} topped up at the club`,
    refunded: (amount: string) => `−${amount}: a payment was refunded`,
  },
  // The transport names stay as they are in both languages: they are what a club's admin searches for.
  connection: {
    sse: 'Live: connected over SSE',
    poll: 'Live: connected over long-poll (streaming is blocked on this network)',
    offline: 'Offline: waiting for the network',
    closed: 'Not connected',
    connecting: 'Connecting',
    reconnecting: 'Reconnecting',
  },
  announcement: 'Announcement',
  tabs: { club: 'Club', fairness: 'Fairness', admin: 'Admin' },
  loading: 'Loading…',
  cases: {
    title: 'Cases',
    empty: 'No cases yet.',
    possible: (n: number) => plural('en', n, { one: 'possible drop', other: 'possible drops' }),
    open: 'Open',
    opening: 'Opening…',
    signInToOpen: 'Log in to open',
    won: (item: string, value: string) => `You won ${item} (${value})`,
    skip: 'Skip',
  },
  fairness: {
    title: 'Fairness',
    explain:
      'Every opening is drawn from a server seed committed to before it (its hash is below), your client seed and a counter. Start a new pair to reveal the seed, then check any opening here, in your browser.',
    serverSeedHash: 'Server seed hash',
    serverSeed: 'Server seed',
    clientSeed: 'Client seed',
    nonce: 'nonce',
    nextNonce: 'Next nonce',
    newClientSeed: 'Your own client seed',
    setClientSeed: 'Use this seed',
    rotate: 'New pair',
    revealed: (seed: string) => `The previous server seed is revealed: ${seed}`,
    openings: 'Your openings',
    none: 'No openings yet.',
    notRevealed: 'The server seed is revealed when you start a new pair.',
    check: 'Check',
    valid: (item: string, roll: number) => `✓ These seeds draw ${item} (roll ${roll.toFixed(6)})`,
    otherItem: (item: string) => `✗ These values draw ${item}, not the item won`,
    hashMismatch: '✗ This server seed does not match the hash published before the opening',
  },
  inventory: {
    title: 'Inventory',
    count: (n: number) => plural('en', n, { one: 'item', other: 'items' }),
    empty: 'Nothing yet: open a case.',
    sell: (value: string) => `Sell ${value}`,
  },
  drops: {
    title: 'Live drops',
    empty: 'No drops yet.',
    won: 'won',
    from: (caseName: string, value: string) => `from ${caseName} · ${value}`,
  },
  chat: {
    title: 'Chat',
    empty: 'No messages yet.',
    placeholder: 'Say something',
    send: 'Send',
    delete: 'delete',
    mute: 'mute 10 min',
    // Stored with the mute and shown to the muted member.
    muteReason: 'moderator',
    muted: (until: string, reason: string | null) => `You are muted until ${until}${reason ? ` (${reason})` : ''}.`,
    signInToWrite: 'Log in to write in the chat.',
    signIn: 'Log in',
  },
  login: {
    title: 'Log in',
    username: 'username',
    password: 'password',
    submit: 'Log in',
    // Shown when a visitor tries something that needs an account.
    ask: { open: 'Log in to open a case.', chat: 'Log in to write in the chat.' },
    newcomer: 'No account yet? Ask the club admin at the front desk.',
    demo: 'Demo server: alice / alice-demo-1, bob / bob-demo-1, admin / admin-demo-1',
  },
  admin: {
    title: 'Admin',
    newCase: 'New case',
    editCase: (id: number) => `Edit case #${id}`,
    // The placeholders double as the fields' names (the browser tests find the inputs by them).
    name: 'name',
    price: 'price, ₽',
    badNumber: 'Prices and weights are numbers, e.g. 50 or 12.5.',
    itemsHint: 'One item a line: name | rarity (common, uncommon, rare, epic, legendary) | value in ₽ | weight',
    sampleItems: 'Sticker | common | 5 | 10\nPoster | rare | 50 | 1',
    create: 'Create',
    save: 'Save',
    cancel: 'cancel',
    edit: 'edit',
    delete: 'delete',
    items: (n: number) => plural('en', n, { one: 'item', other: 'items' }),
    created: 'Case created',
    saved: 'Case saved',
    deleted: 'Case deleted',
    announcement: 'Announcement',
    announcementPlaceholder: 'Tournament at 8 pm',
    post: 'Post',
    announced: 'Announced',
  },
  rarity: { common: 'Common', uncommon: 'Uncommon', rare: 'Rare', epic: 'Epic', legendary: 'Legendary' },
  // By the server's stable error code; a code not listed here shows the server's own message.
  errors: {
    unauthenticated: 'Please log in first.',
    bad_credentials: 'Wrong username or password.',
    forbidden: 'Only an admin can do that.',
    bad_signature: 'The payment signature is missing or wrong.',
    not_found: 'Not found: it may have just been removed.',
    insufficient_funds: 'Not enough money on your balance.',
    rate_limited: ({ seconds }) =>
      seconds ? `Too many requests: try again in ${seconds} s.` : 'Too many requests: try again shortly.',
    busy: 'The server is busy: try again in a moment.',
    chat_muted: ({ until }) => (until ? `You are muted in the chat until ${until}.` : 'You are muted in the chat.'),
    internal: 'Something went wrong on the server.',
    database_unavailable: 'The database is unavailable: try again shortly.',
    server_full: 'The server is full: try again shortly.',
    too_many_streams: 'Too many tabs or devices are open with this account.',
    too_many_connections: 'Too many connections from this network: try again shortly.',
    topup_not_configured: 'Top-ups are not set up on this server.',
    username_taken: 'This username is taken.',
    duplicate_message: 'You have just sent that message.',
    balance_limit: 'The balance would exceed the largest allowed amount.',
    case_empty: 'This case has no items yet.',
    seeds_changed: 'Your seeds were changed meanwhile (another tab?). Look at them and try again.',
    payment_mismatch: 'This payment was already credited with other details.',
    smartshell_client_linked: 'This SmartShell client is linked to another member.',
    invalid_json: 'The request is not valid JSON.',
    invalid_body: 'The request is not valid.',
    invalid_path: 'The address is not valid.',
    invalid_query: 'The request parameters are not valid.',
    invalid_timeout: 'The waiting time is not valid.',
    invalid_last_event_id: 'The event to resume from is not valid.',
    invalid_username: 'A username has 3 to 32 characters: Latin letters, digits, _ - .',
    invalid_password: 'A password has 8 to 128 characters.',
    invalid_length: 'The text is empty or too long.',
    invalid_characters: 'The text contains characters that are not allowed.',
    invalid_image_url: 'The image must be an http(s) address or a path starting with /.',
    negative_value: 'The value must not be negative.',
    no_items: 'A case needs at least one item.',
    too_many_items: 'A case holds at most 100 items.',
    out_of_range: 'A value is out of the allowed range.',
    zero_delta: 'The change must not be zero.',
    method_not_allowed: 'This action is not supported.',
    payload_too_large: 'The request is too large.',
    request_timeout: 'The request took too long.',
    unsupported_media_type: 'The request format is not supported.',
    network_error: 'No connection to the server.',
  } satisfies Record<ErrorCode | 'network_error', ErrorText>,
};

export type Dictionary = typeof en;

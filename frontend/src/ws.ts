// The events WebSocket: URL and parsing helpers, and a socket that reconnects (unit-tested
// with a fake WebSocket in ws.test.ts).

/** ws(s)://<host>/ws/events/ for the page's own origin. */
export function eventsSocketUrl(loc: { protocol: string; host: string }): string {
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:'
  return `${scheme}//${loc.host}/ws/events/`
}

/** The "type" of a {"type": ..., "payload": ...} message, or null. */
export function parseEventType(data: unknown): string | null {
  return parseEvent(data)?.type ?? null
}

export interface LiveEvent {
  type: string
  id?: string
  at?: string
  payload?: unknown
}

/** A {"type", ...} message (the hello, a pong or an event), or null for anything else. */
export function parseEvent(data: unknown): LiveEvent | null {
  if (typeof data !== 'string') return null
  try {
    const msg: unknown = JSON.parse(data)
    if (msg && typeof msg === 'object' && typeof (msg as { type?: unknown }).type === 'string') {
      return msg as LiveEvent
    }
  } catch {
    // not JSON: ignore
  }
  return null
}

/**
 * Close codes after which reconnecting cannot help (docs/api.md, "Live events"): 4401 not
 * authenticated (the session ended), 4403 not allowed from this origin.
 */
export const REFUSED_CLOSE_CODES: ReadonlySet<number> = new Set([4401, 4403])

export interface Backoff {
  /** first delay, doubled after each failed attempt */
  baseMs: number
  /** no delay is longer than this */
  capMs: number
  /** a connection open this long was a real one: the next drop starts again from baseMs */
  stableMs: number
}

export const DEFAULT_BACKOFF: Backoff = { baseMs: 1000, capMs: 30_000, stableMs: 30_000 }

/**
 * Delay before reconnect attempt number `attempt` (0, 1, 2...): base * 2^attempt up to the cap,
 * with "equal jitter" (between half of it and all of it), so that clients dropped together by a
 * server restart do not all come back in the same instant.
 */
export function backoffDelay(attempt: number, backoff: Backoff, random: () => number): number {
  const ceiling = Math.min(backoff.capMs, backoff.baseMs * 2 ** Math.min(attempt, 30))
  return ceiling / 2 + random() * (ceiling / 2)
}

export type SocketStatus = 'connecting' | 'connected' | 'disconnected'

/** The part of the browser's WebSocket this module uses (a fake one in tests). */
export interface WebSocketLike {
  onopen: ((ev: Event) => void) | null
  onmessage: ((ev: MessageEvent) => void) | null
  onclose: ((ev: CloseEvent) => void) | null
  close(code?: number, reason?: string): void
}

export interface EventsSocketOptions {
  url: string
  onStatus?: (status: SocketStatus) => void
  /** every message (the hello, events); an event whose id was already seen is dropped */
  onEvent?: (event: LiveEvent) => void
  /**
   * The socket is open again after a drop: events sent meanwhile were missed, so refetch
   * what is on screen.
   */
  onReconnect?: () => void
  /** closed with a code from REFUSED_CLOSE_CODES: no reconnect (e.g. check the login again) */
  onRefused?: (code: number) => void
  backoff?: Backoff
  random?: () => number
  createSocket?: (url: string) => WebSocketLike
}

const SEEN_IDS_KEPT = 500

/** Opens the socket now and keeps it open until `close()`. */
export function openEventsSocket(options: EventsSocketOptions): { close: () => void } {
  const backoff = options.backoff ?? DEFAULT_BACKOFF
  const random = options.random ?? Math.random
  const createSocket = options.createSocket ?? ((url: string) => new WebSocket(url))
  const seen = new Set<string>()
  let socket: WebSocketLike | null = null
  let timer: ReturnType<typeof setTimeout> | undefined
  let attempt = 0
  let openedAt: number | null = null
  let everOpened = false
  let stopped = false

  const scheduleRetry = () => {
    options.onStatus?.('disconnected')
    timer = setTimeout(connect, backoffDelay(attempt, backoff, random))
    attempt += 1
  }

  function connect() {
    timer = undefined
    if (stopped) return
    options.onStatus?.('connecting')
    let current: WebSocketLike
    try {
      current = createSocket(options.url)
    } catch {
      scheduleRetry()
      return
    }
    socket = current
    current.onopen = () => {
      if (stopped || socket !== current) return
      openedAt = Date.now()
      options.onStatus?.('connected')
      if (everOpened) options.onReconnect?.()
      everOpened = true
    }
    current.onmessage = (ev: MessageEvent) => {
      if (socket !== current) return
      const event = parseEvent(ev.data)
      if (!event) return
      if (typeof event.id === 'string') {
        if (seen.has(event.id)) return
        seen.add(event.id)
        if (seen.size > SEEN_IDS_KEPT) seen.delete(seen.values().next().value as string)
      }
      options.onEvent?.(event)
    }
    current.onclose = (ev: CloseEvent) => {
      if (socket !== current) return
      socket = null
      if (stopped) return
      // Only a connection that stayed open starts the back-off again: a server that accepts
      // and drops at once (a crash loop) is retried ever more slowly.
      if (openedAt !== null && Date.now() - openedAt >= backoff.stableMs) attempt = 0
      openedAt = null
      if (REFUSED_CLOSE_CODES.has(ev.code)) {
        options.onStatus?.('disconnected')
        options.onRefused?.(ev.code)
        return
      }
      scheduleRetry()
    }
  }

  connect()
  return {
    close() {
      stopped = true
      clearTimeout(timer)
      const current = socket
      socket = null
      current?.close(1000)
    },
  }
}

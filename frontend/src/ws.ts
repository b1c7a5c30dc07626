// Pure helpers for the events WebSocket (unit-tested).

/** ws(s)://<host>/ws/events/ for the page's own origin. */
export function eventsSocketUrl(loc: { protocol: string; host: string }): string {
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:'
  return `${scheme}//${loc.host}/ws/events/`
}

/** The "type" of a {"type": ..., "payload": ...} message, or null. */
export function parseEventType(data: unknown): string | null {
  if (typeof data !== 'string') return null
  try {
    const msg: unknown = JSON.parse(data)
    if (msg && typeof msg === 'object' && typeof (msg as { type?: unknown }).type === 'string') {
      return (msg as { type: string }).type
    }
  } catch {
    // not JSON: ignore
  }
  return null
}

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  backoffDelay,
  DEFAULT_BACKOFF,
  eventsSocketUrl,
  openEventsSocket,
  parseEventType,
  type EventsSocketOptions,
  type LiveEvent,
  type SocketStatus,
  type WebSocketLike,
} from './ws'

describe('eventsSocketUrl', () => {
  it('uses ws for http and wss for https on the same host', () => {
    expect(eventsSocketUrl({ protocol: 'http:', host: '127.0.0.1:8000' })).toBe(
      'ws://127.0.0.1:8000/ws/events/',
    )
    expect(eventsSocketUrl({ protocol: 'https:', host: 'lailiao.example' })).toBe(
      'wss://lailiao.example/ws/events/',
    )
  })
})

describe('parseEventType', () => {
  it('returns the type of a JSON event and null otherwise', () => {
    expect(parseEventType('{"type":"order.created","payload":{"id":1}}')).toBe('order.created')
    expect(parseEventType('not json')).toBeNull()
    expect(parseEventType('{"payload":{}}')).toBeNull()
    expect(parseEventType(new ArrayBuffer(2))).toBeNull()
  })
})

describe('backoffDelay', () => {
  const backoff = { baseMs: 1000, capMs: 30_000, stableMs: 30_000 }
  it('doubles from the base up to the cap, jittered between half and all of it', () => {
    const low = [0, 1, 2, 3, 4, 5, 6, 40].map((n) => backoffDelay(n, backoff, () => 0))
    const high = [0, 1, 2, 3, 4, 5, 6, 40].map((n) => backoffDelay(n, backoff, () => 0.999999))
    expect(low).toEqual([500, 1000, 2000, 4000, 8000, 15_000, 15_000, 15_000])
    expect(high.map(Math.round)).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000])
    expect(backoffDelay(2, backoff, () => 0.5)).toBe(3000)
  })
})

class FakeSocket implements WebSocketLike {
  static made: FakeSocket[] = []
  onopen: ((ev: Event) => void) | null = null
  onmessage: ((ev: MessageEvent) => void) | null = null
  onclose: ((ev: CloseEvent) => void) | null = null
  closedWith: number | undefined = undefined
  readonly url: string

  constructor(url: string) {
    this.url = url
    FakeSocket.made.push(this)
  }

  static last(): FakeSocket {
    return FakeSocket.made[FakeSocket.made.length - 1]
  }

  // what the server or the network does
  open() {
    this.onopen?.(new Event('open'))
  }
  message(data: unknown) {
    this.onmessage?.({ data: JSON.stringify(data) } as MessageEvent)
  }
  drop(code = 1006) {
    this.onclose?.({ code } as CloseEvent)
  }

  // what the app does
  close(code?: number) {
    this.closedWith = code
    this.onclose?.({ code: code ?? 1005 } as CloseEvent)
  }
}

function start(extra: Partial<EventsSocketOptions> = {}) {
  const statuses: SocketStatus[] = []
  const events: LiveEvent[] = []
  const reconnects = vi.fn()
  const refused = vi.fn()
  const socket = openEventsSocket({
    url: 'ws://127.0.0.1:8000/ws/events/',
    createSocket: (url) => new FakeSocket(url),
    random: () => 0.5, // jitter: three quarters of the ceiling
    onStatus: (s) => statuses.push(s),
    onEvent: (e) => events.push(e),
    onReconnect: reconnects,
    onRefused: refused,
    ...extra,
  })
  return { socket, statuses, events, reconnects, refused }
}

describe('openEventsSocket', () => {
  beforeEach(() => {
    FakeSocket.made = []
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('reconnects after a drop with growing, capped delays and then asks for a refetch', () => {
    const { statuses, reconnects } = start()
    expect(FakeSocket.made).toHaveLength(1)
    expect(FakeSocket.last().url).toBe('ws://127.0.0.1:8000/ws/events/')
    FakeSocket.last().open()
    expect(reconnects).not.toHaveBeenCalled() // the first open is no reconnect
    expect(statuses).toEqual(['connecting', 'connected'])

    FakeSocket.last().drop()
    expect(statuses.at(-1)).toBe('disconnected')
    // each failed attempt waits 0.75 × min(30 s, 1 s × 2^n): 750, 1500, 3000, ... 22500 (cap)
    const waits = [750, 1500, 3000, 6000, 12_000, 22_500, 22_500]
    for (const [n, wait] of waits.entries()) {
      vi.advanceTimersByTime(wait - 1)
      expect(FakeSocket.made).toHaveLength(n + 1) // not yet
      vi.advanceTimersByTime(1)
      expect(FakeSocket.made).toHaveLength(n + 2)
      FakeSocket.last().drop() // the server is still down
    }
    vi.advanceTimersByTime(22_500)
    FakeSocket.last().open()
    expect(reconnects).toHaveBeenCalledTimes(1)
    expect(statuses.at(-1)).toBe('connected')
  })

  it('starts the back-off again only after a connection that stayed open', () => {
    start()
    FakeSocket.last().open()
    FakeSocket.last().drop()
    vi.advanceTimersByTime(750)
    // a server that accepts and drops at once (1011 every few seconds) is retried more slowly
    FakeSocket.last().open()
    vi.advanceTimersByTime(5_000)
    FakeSocket.last().drop()
    vi.advanceTimersByTime(1499)
    expect(FakeSocket.made).toHaveLength(2)
    vi.advanceTimersByTime(1)
    expect(FakeSocket.made).toHaveLength(3)
    // open for longer than stableMs: the next drop is retried after the first delay again
    FakeSocket.last().open()
    vi.advanceTimersByTime(DEFAULT_BACKOFF.stableMs)
    FakeSocket.last().drop()
    vi.advanceTimersByTime(750)
    expect(FakeSocket.made).toHaveLength(4)
  })

  it('does not reconnect after a refusal (4401 logged out, 4403 origin) and says so', () => {
    for (const code of [4401, 4403]) {
      FakeSocket.made = []
      const { refused, reconnects } = start()
      FakeSocket.last().open()
      FakeSocket.last().drop(code)
      vi.advanceTimersByTime(10 * 60_000)
      expect(FakeSocket.made).toHaveLength(1)
      expect(refused).toHaveBeenCalledWith(code)
      expect(reconnects).not.toHaveBeenCalled()
    }
  })

  it('stops for good when the app closes it', () => {
    const { socket, statuses } = start()
    FakeSocket.last().open()
    socket.close()
    expect(FakeSocket.last().closedWith).toBe(1000)
    vi.advanceTimersByTime(10 * 60_000)
    expect(FakeSocket.made).toHaveLength(1)
    expect(statuses).toEqual(['connecting', 'connected'])
  })

  it('closing while waiting to retry cancels the retry', () => {
    const { socket } = start()
    FakeSocket.last().drop()
    socket.close()
    vi.advanceTimersByTime(10 * 60_000)
    expect(FakeSocket.made).toHaveLength(1)
  })

  it('retries when the socket cannot even be created', () => {
    let fail = true
    start({
      createSocket: (url) => {
        if (fail) throw new SyntaxError('bad url')
        return new FakeSocket(url)
      },
    })
    expect(FakeSocket.made).toHaveLength(0)
    fail = false
    vi.advanceTimersByTime(750)
    expect(FakeSocket.made).toHaveLength(1)
  })

  it('passes events on once, dropping an id already seen (a redelivered task)', () => {
    const { events } = start()
    const socket = FakeSocket.last()
    socket.open()
    socket.message({ type: 'hello', payload: { groups: ['user.1'] } })
    socket.message({ id: 'a1', type: 'piece.logged', payload: { n: 1 } })
    socket.message({ id: 'a1', type: 'piece.logged', payload: { n: 1 } })
    socket.onmessage?.({ data: 'not json' } as MessageEvent)
    socket.message({ id: 'b2', type: 'order.awarded', payload: {} })
    expect(events.map((e) => e.id ?? e.type)).toEqual(['hello', 'a1', 'b2'])
  })

  it('ignores a replaced socket that closes late', () => {
    const { reconnects } = start()
    const first = FakeSocket.last()
    first.open()
    first.drop()
    vi.advanceTimersByTime(750)
    FakeSocket.last().open()
    first.drop() // a stale close event of the old socket
    vi.advanceTimersByTime(60_000)
    expect(FakeSocket.made).toHaveLength(2)
    expect(reconnects).toHaveBeenCalledTimes(1)
  })
})

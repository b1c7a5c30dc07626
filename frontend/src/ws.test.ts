import { describe, expect, it } from 'vitest'
import { eventsSocketUrl, parseEventType } from './ws'

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

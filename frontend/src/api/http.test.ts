import { describe, expect, it } from 'vitest'
import {
  acceptLanguageFor,
  ApiError,
  buildHeaders,
  getCookie,
  isUnsafeMethod,
  parseErrorBody,
} from './http'

describe('getCookie', () => {
  it('finds a cookie among several', () => {
    expect(getCookie('sessionid=abc; csrftoken=tok123; other=1', 'csrftoken')).toBe('tok123')
  })
  it('returns null when absent or empty', () => {
    expect(getCookie('sessionid=abc', 'csrftoken')).toBeNull()
    expect(getCookie('', 'csrftoken')).toBeNull()
  })
  it('does not match on a name prefix and decodes the value', () => {
    expect(getCookie('xcsrftoken=bad; csrftoken=a%20b', 'csrftoken')).toBe('a b')
  })
})

describe('acceptLanguageFor', () => {
  it('maps zh-CN to zh-hans and en to en', () => {
    expect(acceptLanguageFor('zh-CN')).toBe('zh-hans')
    expect(acceptLanguageFor('en')).toBe('en')
    expect(acceptLanguageFor('en-US')).toBe('en')
    expect(acceptLanguageFor('anything-else')).toBe('zh-hans')
  })
})

describe('buildHeaders', () => {
  const cookie = 'csrftoken=tok123'
  it('sends X-CSRFToken for unsafe methods only', () => {
    for (const m of ['POST', 'put', 'PATCH', 'DELETE']) {
      expect(isUnsafeMethod(m)).toBe(true)
      expect(buildHeaders({ method: m, language: 'en', cookieString: cookie })['X-CSRFToken']).toBe(
        'tok123',
      )
    }
    for (const m of ['GET', 'head', 'OPTIONS']) {
      expect(isUnsafeMethod(m)).toBe(false)
      expect(buildHeaders({ method: m, language: 'en', cookieString: cookie })).not.toHaveProperty(
        'X-CSRFToken',
      )
    }
  })
  it('omits X-CSRFToken when there is no cookie', () => {
    expect(buildHeaders({ method: 'POST', language: 'en', cookieString: '' })).not.toHaveProperty(
      'X-CSRFToken',
    )
  })
  it('sets Accept-Language and JSON content type', () => {
    const h = buildHeaders({ method: 'POST', language: 'zh-CN', cookieString: '', hasJsonBody: true })
    expect(h['Accept-Language']).toBe('zh-hans')
    expect(h['Content-Type']).toBe('application/json')
    expect(buildHeaders({ method: 'GET', language: 'en', cookieString: '' })).not.toHaveProperty(
      'Content-Type',
    )
  })
})

describe('error shape', () => {
  it('parses {code, message, fields}', () => {
    const body = parseErrorBody({
      code: 'invalid_credentials',
      message: '用户名或密码错误',
      fields: { password: ['必填'], username: 'bad' },
    })
    const err = new ApiError(400, body, 'fallback')
    expect(err.status).toBe(400)
    expect(err.code).toBe('invalid_credentials')
    expect(err.message).toBe('用户名或密码错误')
    expect(err.fields).toEqual({ password: ['必填'], username: ['bad'] })
  })
  it('falls back when the body is not the error shape', () => {
    const err = new ApiError(502, parseErrorBody(null), 'Request failed (HTTP 502).')
    expect(err.message).toBe('Request failed (HTTP 502).')
    expect(err.code).toBe('http_error')
    expect(err.fields).toEqual({})
  })
})

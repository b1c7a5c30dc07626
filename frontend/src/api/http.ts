// Low-level HTTP helpers shared by every API call.
//
// The pure functions (getCookie, acceptLanguageFor, isUnsafeMethod,
// buildHeaders) do not touch the DOM so they can be unit-tested in Node.

import type { AppLanguage } from '../i18n-languages'

export const CSRF_COOKIE_NAME = 'csrftoken'
export const CSRF_HEADER_NAME = 'X-CSRFToken'

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE'])

/** Read one cookie's value from a `document.cookie`-style string. */
export function getCookie(cookieString: string, name: string): string | null {
  if (!cookieString) return null
  for (const part of cookieString.split(';')) {
    const trimmed = part.trim()
    if (!trimmed) continue
    const eq = trimmed.indexOf('=')
    const key = eq === -1 ? trimmed : trimmed.slice(0, eq)
    if (key === name) {
      const raw = eq === -1 ? '' : trimmed.slice(eq + 1)
      try {
        return decodeURIComponent(raw)
      } catch {
        return raw
      }
    }
  }
  return null
}

/** Map the UI language to the value Django expects in Accept-Language. */
export function acceptLanguageFor(language: AppLanguage | string): 'zh-hans' | 'en' {
  return language.toLowerCase().startsWith('en') ? 'en' : 'zh-hans'
}

/** Methods that Django's CSRF middleware checks (everything not "safe"). */
export function isUnsafeMethod(method: string): boolean {
  return !SAFE_METHODS.has(method.toUpperCase())
}

export interface HeaderOptions {
  method: string
  language: AppLanguage | string
  cookieString: string
  hasJsonBody?: boolean
}

/** Build the request headers every API call sends. */
export function buildHeaders(opts: HeaderOptions): Record<string, string> {
  const headers: Record<string, string> = {
    Accept: 'application/json',
    'Accept-Language': acceptLanguageFor(opts.language),
  }
  if (opts.hasJsonBody) headers['Content-Type'] = 'application/json'
  if (isUnsafeMethod(opts.method)) {
    const token = getCookie(opts.cookieString, CSRF_COOKIE_NAME)
    if (token) headers[CSRF_HEADER_NAME] = token
  }
  return headers
}

/** The backend's error shape: {"code", "message", "fields"}. */
export interface ApiErrorBody {
  code: string
  message: string
  fields?: Record<string, string[]>
}

export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly fields: Record<string, string[]>

  constructor(status: number, body: Partial<ApiErrorBody> | null, fallbackMessage: string) {
    super(body?.message || fallbackMessage)
    this.name = 'ApiError'
    this.status = status
    this.code = body?.code || (status === 0 ? 'network_error' : 'http_error')
    this.fields = body?.fields ?? {}
  }
}

/** Parse a backend error body; anything not of the documented shape gives null. */
export function parseErrorBody(data: unknown): Partial<ApiErrorBody> | null {
  if (!data || typeof data !== 'object') return null
  const obj = data as Record<string, unknown>
  const out: Partial<ApiErrorBody> = {}
  if (typeof obj.code === 'string') out.code = obj.code
  if (typeof obj.message === 'string') out.message = obj.message
  if (obj.fields && typeof obj.fields === 'object') {
    const fields: Record<string, string[]> = {}
    for (const [k, v] of Object.entries(obj.fields as Record<string, unknown>)) {
      if (Array.isArray(v)) fields[k] = v.map(String)
      else if (typeof v === 'string') fields[k] = [v]
    }
    out.fields = fields
  }
  return out
}

import i18n, { currentLanguage } from '../i18n'
import { ApiError, buildHeaders, parseErrorBody } from './http'

export interface RequestOptions {
  method?: string
  body?: unknown
  signal?: AbortSignal
}

/**
 * fetch() wrapper for the same-origin Django API: sends cookies, the
 * Accept-Language of the chosen UI language and, for unsafe methods, the
 * X-CSRFToken header from the csrftoken cookie. Throws ApiError on failure.
 */
export async function apiRequest<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const method = (options.method ?? 'GET').toUpperCase()
  const hasJsonBody = options.body !== undefined
  const headers = buildHeaders({
    method,
    language: currentLanguage(),
    cookieString: document.cookie,
    hasJsonBody,
  })

  let response: Response
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      body: hasJsonBody ? JSON.stringify(options.body) : undefined,
      signal: options.signal,
    })
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err
    throw new ApiError(0, null, i18n.t('errors.network'))
  }

  if (response.status === 204) return undefined as T

  const contentType = response.headers.get('Content-Type') ?? ''
  const data: unknown = contentType.includes('json') ? await response.json().catch(() => null) : null

  if (!response.ok) {
    throw new ApiError(
      response.status,
      parseErrorBody(data),
      i18n.t('errors.http', { status: response.status }),
    )
  }
  return data as T
}

import { apiRequest } from './client'

export type Role = 'firm_member' | 'broker_owner' | 'team_head' | 'auditor' | 'admin' | 'worker'

export interface Organisation {
  id: number
  name: string
  kind: string
  kind_label: string
}

export interface Jurisdiction {
  id: number
  name: string
  level: string
}

export interface Me {
  id: number
  username: string
  display_name: string
  phone?: string | null
  role: Role | string
  role_label: string
  language: string
  organisation: Organisation | null
  jurisdiction: Jurisdiction | null
  worker_id: number | null
}

export interface LoginPayload {
  username: string
  password: string
}

/** Sets the csrftoken cookie. */
export function fetchCsrf(): Promise<{ csrfToken: string }> {
  return apiRequest('/api/auth/csrf/')
}

/** 200 with the current user, or ApiError 403 when not logged in. */
export function fetchMe(signal?: AbortSignal): Promise<Me> {
  return apiRequest('/api/auth/me/', { signal })
}

export function login(payload: LoginPayload): Promise<Me> {
  return apiRequest('/api/auth/login/', { method: 'POST', body: payload })
}

export function logout(): Promise<void> {
  return apiRequest('/api/auth/logout/', { method: 'POST' })
}

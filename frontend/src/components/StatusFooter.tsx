import { Badge, Space, Typography } from 'antd'
import { useEffect, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { eventsSocketUrl, parseEventType } from '../ws'

type WsStatus = 'connecting' | 'connected' | 'disconnected'

const MAX_RETRY_DELAY_MS = 30_000
// The server closes with 4401 when the connection is not authenticated:
// retrying would not help until the user logs in again.
const NO_RETRY_CLOSE_CODES = new Set([4401, 4403])

/**
 * Opens the /ws/events/ WebSocket while mounted (only when logged in) and
 * shows whether it is connected and the type of the last event received.
 * Reconnects with capped exponential back-off, except after an
 * authentication refusal.
 */
export default function StatusFooter() {
  const { t } = useTranslation()
  const [status, setStatus] = useState<WsStatus>('connecting')
  const [lastEvent, setLastEvent] = useState<string | null>(null)

  useEffect(() => {
    let socket: WebSocket | null = null
    let retryTimer: ReturnType<typeof setTimeout> | undefined
    let attempts = 0
    let stopped = false

    const connect = () => {
      if (stopped) return
      setStatus('connecting')
      try {
        socket = new WebSocket(eventsSocketUrl(window.location))
      } catch {
        scheduleRetry()
        return
      }
      socket.onopen = () => {
        attempts = 0
        setStatus('connected')
      }
      socket.onmessage = (ev: MessageEvent) => {
        const type = parseEventType(ev.data)
        if (type) setLastEvent(type)
      }
      socket.onclose = (ev: CloseEvent) => {
        socket = null
        if (stopped) return
        setStatus('disconnected')
        if (!NO_RETRY_CLOSE_CODES.has(ev.code)) scheduleRetry()
      }
    }

    const scheduleRetry = () => {
      if (stopped) return
      const delay = Math.min(MAX_RETRY_DELAY_MS, 1000 * 2 ** attempts)
      attempts += 1
      retryTimer = setTimeout(connect, delay)
    }

    connect()
    return () => {
      stopped = true
      clearTimeout(retryTimer)
      socket?.close()
    }
  }, [])

  const badge =
    status === 'connected' ? 'success' : status === 'connecting' ? 'processing' : 'default'

  return (
    <Space size="large" wrap>
      <span>
        {t('status.label')} <Badge status={badge} text={t(`status.${status}`)} />
      </span>
      <Typography.Text type="secondary">
        {lastEvent ? t('status.lastEvent', { type: lastEvent }) : t('status.noEvents')}
      </Typography.Text>
    </Space>
  )
}

import { Badge, Space, Typography } from 'antd'
import { useEffect, useRef, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { eventsSocketUrl, openEventsSocket, type SocketStatus } from '../ws'

interface Props {
  /** open again after a drop: refetch what is on screen (events sent meanwhile were missed) */
  onReconnect?: () => void
  /** refused (4401/4403): not retried; check whether the user is still logged in */
  onRefused?: () => void
}

/**
 * Opens the /ws/events/ WebSocket while mounted (only when logged in) and shows whether it is
 * connected and the type of the last event received. After a drop it reconnects with capped,
 * jittered exponential back-off (ws.ts) and then calls onReconnect; after a refusal it stops.
 */
export default function StatusFooter({ onReconnect, onRefused }: Props) {
  const { t } = useTranslation()
  const [status, setStatus] = useState<SocketStatus>('connecting')
  const [lastEvent, setLastEvent] = useState<string | null>(null)
  // the socket lives as long as the component; the callbacks may change on every render
  const callbacks = useRef({ onReconnect, onRefused })
  useEffect(() => {
    callbacks.current = { onReconnect, onRefused }
  }, [onReconnect, onRefused])

  useEffect(() => {
    const socket = openEventsSocket({
      url: eventsSocketUrl(window.location),
      onStatus: setStatus,
      onEvent: (event) => {
        if (event.type !== 'hello' && event.type !== 'pong') setLastEvent(event.type)
      },
      onReconnect: () => callbacks.current.onReconnect?.(),
      onRefused: () => callbacks.current.onRefused?.(),
    })
    return () => socket.close()
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

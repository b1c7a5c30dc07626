import { Alert, Button, Card, Descriptions, Space, Typography } from 'antd'
import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import { fetchCsrf, logout, type Me } from '../api/auth'
import { ApiError } from '../api/http'

interface Props {
  me: Me
  onLoggedOut: () => void
}

export default function HomePage({ me, onLoggedOut }: Props) {
  const { t } = useTranslation()
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const none = <Typography.Text type="secondary">{t('common.none')}</Typography.Text>

  const onLogout = async () => {
    setBusy(true)
    setError(null)
    try {
      await logout()
      // Make sure a fresh CSRF cookie exists for the next login.
      await fetchCsrf().catch(() => undefined)
      onLoggedOut()
    } catch (err) {
      setError(err instanceof ApiError ? err.message : t('home.logoutFailed'))
      setBusy(false)
    }
  }

  const items = [
    { key: 'display_name', label: t('home.displayName'), children: me.display_name || me.username },
    { key: 'username', label: t('home.username'), children: me.username },
    { key: 'role', label: t('home.role'), children: me.role_label || me.role },
    { key: 'organisation', label: t('home.organisation'), children: me.organisation?.name ?? none },
    {
      key: 'organisation_kind',
      label: t('home.organisationKind'),
      children: me.organisation ? me.organisation.kind_label || me.organisation.kind : none,
    },
    {
      key: 'jurisdiction',
      label: t('home.jurisdiction'),
      children: me.jurisdiction
        ? t('home.jurisdictionValue', {
            name: me.jurisdiction.name,
            level: t(`jurisdictionLevel.${me.jurisdiction.level}`, {
              defaultValue: me.jurisdiction.level,
            }),
          })
        : none,
    },
    ...(me.worker_id != null
      ? [{ key: 'worker_id', label: t('home.workerId'), children: String(me.worker_id) }]
      : []),
  ]

  return (
    <Card
      title={t('home.welcome', { name: me.display_name || me.username })}
      extra={
        <Button onClick={() => void onLogout()} loading={busy}>
          {t('home.logout')}
        </Button>
      }
      style={{ maxWidth: 720, margin: '32px auto' }}
    >
      {error && <Alert type="error" showIcon title={error} style={{ marginBottom: 16 }} />}
      <Descriptions title={t('home.title')} column={1} bordered size="small" items={items} />
      <Space style={{ marginTop: 16 }} wrap>
        <Typography.Text strong>{t('home.links')}</Typography.Text>
        <Typography.Link href="/api/docs/">{t('home.apiDocs')}</Typography.Link>
        <Typography.Link href="/admin/">{t('home.admin')}</Typography.Link>
      </Space>
    </Card>
  )
}

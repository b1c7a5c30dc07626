import { Alert, Button, ConfigProvider, Layout, Space, Spin, Typography } from 'antd'
import enUS from 'antd/locale/en_US'
import zhCN from 'antd/locale/zh_CN'
import { useCallback, useEffect, useRef, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { fetchCsrf, fetchMe, type Me } from './api/auth'
import { ApiError } from './api/http'
import i18next from './i18n'
import LanguageSwitch from './components/LanguageSwitch'
import StatusFooter from './components/StatusFooter'
import HomePage from './pages/HomePage'
import LoginPage from './pages/LoginPage'

type AuthState =
  | { status: 'loading' }
  | { status: 'anonymous'; error: string | null }
  | { status: 'authenticated'; me: Me }

// GET /api/auth/csrf/ once per page load (StrictMode runs effects twice in dev).
let csrfOnce: Promise<unknown> | null = null
function ensureCsrf(): Promise<unknown> {
  csrfOnce ??= fetchCsrf().catch(() => undefined)
  return csrfOnce
}

export default function App() {
  const { t, i18n } = useTranslation()
  const [auth, setAuth] = useState<AuthState>({ status: 'loading' })
  const authRef = useRef(auth)
  useEffect(() => {
    authRef.current = auth
  }, [auth])

  const loadMe = useCallback(async (signal?: AbortSignal) => {
    try {
      const me = await fetchMe(signal)
      setAuth({ status: 'authenticated', me })
    } catch (err) {
      if (err instanceof DOMException && err.name === 'AbortError') return
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
        setAuth({ status: 'anonymous', error: null })
      } else {
        const detail = err instanceof Error ? err.message : ''
        setAuth({ status: 'anonymous', error: `${i18next.t('errors.startup')}: ${detail}` })
      }
    }
  }, [])

  // App start: CSRF cookie, then who am I.
  useEffect(() => {
    const controller = new AbortController()
    void ensureCsrf().then(() => loadMe(controller.signal))
    return () => controller.abort()
  }, [loadMe]) // loadMe is stable, so this runs once per mount

  // The server translates labels (role_label, kind_label) by Accept-Language:
  // reload "me" when the language changes while logged in.
  useEffect(() => {
    const onChange = () => {
      if (authRef.current.status === 'authenticated') void loadMe()
    }
    i18n.on('languageChanged', onChange)
    return () => i18n.off('languageChanged', onChange)
  }, [i18n, loadMe])

  const antdLocale = i18n.language === 'en' ? enUS : zhCN

  let content
  if (auth.status === 'loading') {
    content = (
      <div style={{ textAlign: 'center', padding: 64 }}>
        <Spin />
        <div style={{ marginTop: 12 }}>{t('common.loading')}</div>
      </div>
    )
  } else if (auth.status === 'anonymous') {
    content = (
      <>
        {auth.error && (
          <Alert
            type="warning"
            showIcon
            title={auth.error}
            style={{ maxWidth: 420, margin: '24px auto 0' }}
            action={
              <Button size="small" onClick={() => void loadMe()}>
                {t('common.retry')}
              </Button>
            }
          />
        )}
        <LoginPage onLoggedIn={(me) => setAuth({ status: 'authenticated', me })} />
      </>
    )
  } else {
    content = (
      <HomePage me={auth.me} onLoggedOut={() => setAuth({ status: 'anonymous', error: null })} />
    )
  }

  return (
    <ConfigProvider locale={antdLocale}>
      <Layout style={{ minHeight: '100vh' }}>
        <Layout.Header
          style={{
            display: 'flex',
            alignItems: 'center',
            justifyContent: 'space-between',
            background: '#fff',
            borderBottom: '1px solid #f0f0f0',
            paddingInline: 24,
          }}
        >
          <Space align="baseline">
            <Typography.Title level={4} style={{ margin: 0 }}>
              {t('app.title')}
            </Typography.Title>
            <Typography.Text type="secondary">{t('app.subtitle')}</Typography.Text>
          </Space>
          <LanguageSwitch />
        </Layout.Header>
        <Layout.Content style={{ padding: '0 16px' }}>{content}</Layout.Content>
        {auth.status === 'authenticated' && (
          <Layout.Footer style={{ padding: '12px 24px' }}>
            <StatusFooter key={auth.me.id} onReconnect={loadMe} onRefused={loadMe} />
          </Layout.Footer>
        )}
      </Layout>
    </ConfigProvider>
  )
}

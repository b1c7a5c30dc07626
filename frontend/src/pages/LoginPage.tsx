import { Alert, Button, Card, Form, Input } from 'antd'
import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import { fetchCsrf, login, type LoginPayload, type Me } from '../api/auth'
import { ApiError } from '../api/http'

const FORM_FIELDS: ReadonlyArray<keyof LoginPayload> = ['username', 'password']

interface Props {
  onLoggedIn: (me: Me) => void
  /** An error to show on arrival (e.g. the server could not be reached). */
  initialError?: string | null
}

export default function LoginPage({ onLoggedIn, initialError = null }: Props) {
  const { t } = useTranslation()
  const [form] = Form.useForm<LoginPayload>()
  const [submitting, setSubmitting] = useState(false)
  const [error, setError] = useState<string | null>(initialError)

  const onFinish = async (values: LoginPayload) => {
    setSubmitting(true)
    setError(null)
    try {
      const me = await login({ username: values.username.trim(), password: values.password })
      onLoggedIn(me)
    } catch (err) {
      if (err instanceof ApiError) {
        // Field errors go under their fields; others join the alert.
        const other: string[] = []
        const fieldData = FORM_FIELDS.map((name) => ({
          name,
          errors: err.fields[name] ?? [],
        }))
        for (const [name, msgs] of Object.entries(err.fields)) {
          if (!(FORM_FIELDS as readonly string[]).includes(name)) other.push(...msgs)
        }
        form.setFields(fieldData)
        const shown = [err.message, ...other.filter((m) => m !== err.message)]
        setError(shown.filter(Boolean).join(' ') || t('login.failed'))
        // A 403 here is most likely a missing/rotated CSRF cookie: refresh it
        // so that the next attempt can succeed.
        if (err.status === 403) void fetchCsrf().catch(() => undefined)
      } else {
        setError(t('login.failed'))
      }
    } finally {
      setSubmitting(false)
    }
  }

  return (
    <Card title={t('login.title')} style={{ maxWidth: 420, margin: '48px auto' }}>
      {error && (
        <Alert
          type="error"
          showIcon
          title={error}
          style={{ marginBottom: 16 }}
          closable={{ onClose: () => setError(null) }}
        />
      )}
      <Form<LoginPayload>
        form={form}
        layout="vertical"
        requiredMark={false}
        onFinish={(values) => void onFinish(values)}
        autoComplete="on"
      >
        <Form.Item
          name="username"
          label={t('login.username')}
          rules={[{ required: true, whitespace: true, message: t('login.usernameRequired') }]}
        >
          <Input autoComplete="username" placeholder={t('login.usernamePlaceholder')} autoFocus />
        </Form.Item>
        <Form.Item
          name="password"
          label={t('login.password')}
          rules={[{ required: true, message: t('login.passwordRequired') }]}
        >
          <Input.Password autoComplete="current-password" placeholder={t('login.passwordPlaceholder')} />
        </Form.Item>
        <Form.Item style={{ marginBottom: 0 }}>
          <Button type="primary" htmlType="submit" loading={submitting} block>
            {t('login.submit')}
          </Button>
        </Form.Item>
      </Form>
    </Card>
  )
}

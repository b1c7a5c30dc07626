import { Segmented } from 'antd'
import { useTranslation } from 'react-i18next'
import { setLanguage } from '../i18n'
import { type AppLanguage, LANGUAGES, normaliseLanguage } from '../i18n-languages'

export default function LanguageSwitch() {
  const { t, i18n } = useTranslation()
  return (
    <Segmented<AppLanguage>
      aria-label={t('language.label')}
      value={normaliseLanguage(i18n.language)}
      options={LANGUAGES.map((lng) => ({ value: lng, label: t(`language.${lng}`) }))}
      onChange={(value) => void setLanguage(value)}
    />
  )
}

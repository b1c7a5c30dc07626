import i18n from 'i18next'
import { initReactI18next } from 'react-i18next'
import en from './locales/en.json'
import zhCN from './locales/zh-CN.json'
import {
  type AppLanguage,
  DEFAULT_LANGUAGE,
  LANGUAGE_STORAGE_KEY,
  normaliseLanguage,
} from './i18n-languages'

function readStoredLanguage(): AppLanguage {
  try {
    return normaliseLanguage(window.localStorage.getItem(LANGUAGE_STORAGE_KEY))
  } catch {
    return DEFAULT_LANGUAGE
  }
}

void i18n.use(initReactI18next).init({
  resources: {
    'zh-CN': { translation: zhCN },
    en: { translation: en },
  },
  lng: readStoredLanguage(),
  fallbackLng: DEFAULT_LANGUAGE,
  supportedLngs: ['zh-CN', 'en'],
  interpolation: { escapeValue: false },
  initAsync: false,
})

document.documentElement.lang = i18n.language

/** The current UI language, always one of LANGUAGES. */
export function currentLanguage(): AppLanguage {
  return normaliseLanguage(i18n.language)
}

/** Switch language and remember the choice in localStorage. */
export async function setLanguage(language: AppLanguage): Promise<void> {
  try {
    window.localStorage.setItem(LANGUAGE_STORAGE_KEY, language)
  } catch {
    // Storage may be unavailable (private mode); the switch still applies.
  }
  document.documentElement.lang = language
  await i18n.changeLanguage(language)
}

export default i18n

// Kept free of i18next imports so that pure helpers can use it in tests.
export const LANGUAGES = ['zh-CN', 'en'] as const
export type AppLanguage = (typeof LANGUAGES)[number]
export const DEFAULT_LANGUAGE: AppLanguage = 'zh-CN'
export const LANGUAGE_STORAGE_KEY = 'lailiao.language'

export function normaliseLanguage(value: string | null | undefined): AppLanguage {
  return (LANGUAGES as readonly string[]).includes(value ?? '') ? (value as AppLanguage) : DEFAULT_LANGUAGE
}

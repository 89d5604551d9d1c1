/** See snapshot-text.mjs. */
export function oneNamespacePerModule(text: string, script: string): string;

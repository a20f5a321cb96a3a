import { Template } from '@huggingface/jinja';
import { AdapterConfigError } from '@adapterkit/core';

/** One chat message (`role`: `system`, `user`, `assistant`, ...). */
export interface ChatMessage {
  readonly role: string;
  readonly content: string;
}

/** Options of {@link applyChatTemplate}. */
export interface ChatTemplateOptions {
  /** End with the assistant's turn header, so the model writes the reply (default true). */
  readonly addGenerationPrompt?: boolean;
  /** Name of the template when `chat_template` is a list of named templates (default `default`). */
  readonly name?: string;
  /** Extra variables for the template (e.g. `tools`, `date_string`). */
  readonly variables?: Readonly<Record<string, unknown>>;
}

const tokenText = (t: unknown): string | undefined =>
  typeof t === 'string' ? t : typeof t === 'object' && t !== null && typeof (t as { content?: unknown }).content === 'string' ? (t as { content: string }).content : undefined;

/**
 * Render a chat with the template of a `tokenizer_config.json` (`chat_template`, a Jinja string or a list of
 * `{name, template}`), as transformers' `apply_chat_template(..., tokenize=False)` does: the template sees
 * `messages`, `add_generation_prompt` and the special tokens (`bos_token`, `eos_token`, `pad_token`, `unk_token`).
 * The template is interpreted by `@huggingface/jinja` (a Jinja interpreter, no code execution). The result is text
 * whose special tokens are already written out: encode it without adding special tokens again.
 *
 * @throws AdapterConfigError `NO_CHAT_TEMPLATE` when the config has none (or not the named one), `BAD_CHAT_TEMPLATE`
 *   when it does not parse or render.
 */
export function applyChatTemplate(tokenizerConfig: Readonly<Record<string, unknown>>, messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): string {
  const raw = tokenizerConfig['chat_template'];
  let source: string | undefined;
  if (typeof raw === 'string') source = raw;
  else if (Array.isArray(raw)) {
    const name = options.name ?? 'default';
    const hit = raw.find((t): t is { name: string; template: string } => typeof t === 'object' && t !== null && (t as { name?: unknown }).name === name);
    source = hit?.template;
    if (source === undefined) throw new AdapterConfigError('NO_CHAT_TEMPLATE', `tokenizer_config.json has no chat template named '${name}'`);
  }
  if (source === undefined) throw new AdapterConfigError('NO_CHAT_TEMPLATE', 'tokenizer_config.json has no "chat_template"');
  let template: Template;
  try {
    template = new Template(source);
  } catch (err) {
    throw new AdapterConfigError('BAD_CHAT_TEMPLATE', `chat_template does not parse: ${(err as Error).message}`, { cause: err });
  }
  const specials: Record<string, string> = {};
  for (const key of ['bos_token', 'eos_token', 'pad_token', 'unk_token']) {
    const t = tokenText(tokenizerConfig[key]);
    if (t !== undefined) specials[key] = t;
  }
  try {
    return template.render({
      ...specials,
      ...options.variables,
      messages: messages.map((m) => ({ role: m.role, content: m.content })),
      add_generation_prompt: options.addGenerationPrompt ?? true,
    });
  } catch (err) {
    throw new AdapterConfigError('BAD_CHAT_TEMPLATE', `chat_template failed to render: ${(err as Error).message}`, { cause: err });
  }
}

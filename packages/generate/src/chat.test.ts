import { describe, expect, it } from 'vitest';
import { applyChatTemplate } from './index';

// Qwen2's ChatML template (tokenizer_config.json of Qwen2-0.5B-Instruct, without the default system turn).
const CHATML =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
// Llama 3's template shape (bos_token, header ids, eot).
const LLAMA3 =
  "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";

const chat = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'Hi there ' },
];

describe('applyChatTemplate', () => {
  it('renders ChatML (Qwen2) and Llama 3 templates as transformers does', () => {
    expect(applyChatTemplate({ chat_template: CHATML }, chat)).toBe('<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi there <|im_end|>\n<|im_start|>assistant\n');
    expect(applyChatTemplate({ chat_template: LLAMA3, bos_token: { content: '<|begin_of_text|>' } }, chat, { addGenerationPrompt: false })).toBe(
      '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>',
    );
  });

  it('picks a named template and reports missing or broken ones', () => {
    expect(applyChatTemplate({ chat_template: [{ name: 'default', template: '{{ messages[0].content }}' }] }, chat)).toBe('You are terse.');
    expect(() => applyChatTemplate({}, chat)).toThrow(/no "chat_template"/);
    expect(() => applyChatTemplate({ chat_template: [{ name: 'tool_use', template: 'x' }] }, chat)).toThrow(/no chat template named 'default'/);
    expect(() => applyChatTemplate({ chat_template: '{% for %}' }, chat)).toThrow(/chat_template does not parse/);
  });
});

import type { CommandSpec } from '../cli/command';
import { convertCommand } from './convert';
import { ejectPrefixCommand } from './eject-prefix';
import { evalCommand } from './eval';
import { forwardCommand } from './forward';
import { generateCommand } from './generate';
import { mergeCommand } from './merge';
import { mergeAdaptersCommand } from './merge-adapters';
import { predictCommand } from './predict';
import { pretrainCommand } from './pretrain';
import { serveCommand } from './serve';
import { summaryCommand } from './summary';
import { trainCommand } from './train';

/** Every sub-command, in the order of the help. */
export const COMMANDS: readonly CommandSpec[] = [trainCommand, evalCommand, predictCommand, summaryCommand, forwardCommand, generateCommand, ejectPrefixCommand, mergeCommand, mergeAdaptersCommand, convertCommand, pretrainCommand, serveCommand];

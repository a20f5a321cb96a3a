#!/usr/bin/env node
/**
 * The `adapterkit` command-line tool: train, evaluate, predict, inspect, merge and convert adapters.
 * See `adapterkit --help`.
 */
import { main } from './main';

process.exitCode = await main(process.argv.slice(2));

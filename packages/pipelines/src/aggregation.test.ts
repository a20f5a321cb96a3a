import { describe, expect, it } from 'vitest';
import { aggregateTokenScores, type EntityGroup, type GroupingStrategy, type TokenScores } from './tasks';

/**
 * The cases of transformers' own tests of `aggregation_strategy` (tests/pipelines/test_pipelines_token_classification.py:
 * `test_aggregation_strategy`, `test_aggregation_strategy_no_b_i_prefix`, `test_aggregation_strategy_example2`), with
 * their expected groups (scores rounded to 3 places there, as `nested_simplify` does).
 */
const CONLL = ['O', 'B-MISC', 'I-MISC', 'B-PER', 'I-PER', 'B-ORG', 'I-ORG', 'B-LOC', 'I-LOC'];
const ENZO_UN: TokenScores[] = [
  { word: 'En', index: 1, isSubword: false, scores: [0, 0, 0, 0, 0.9968166351318359, 0, 0, 0] },
  { word: '##zo', index: 2, isSubword: true, scores: [0, 0, 0, 0, 0.9957635998725891, 0, 0, 0] },
  { word: 'UN', index: 7, isSubword: false, scores: [0, 0, 0, 0, 0, 0.9986497163772583, 0, 0] },
];
/** WordPiece's `convert_tokens_to_string`: join with spaces, glue `##` pieces. */
const joinPieces = (pieces: readonly TokenScores[]): string => pieces.map((p) => p.word).join(' ').replace(/ ##/g, '');

function simplified(groups: EntityGroup[]): Array<{ entityGroup: string; score: number; word: string; indices: readonly number[] }> {
  return groups.map((g) => ({ ...g, score: Math.round(g.score * 1000) / 1000 }));
}

describe('aggregateTokenScores (transformers aggregation_strategy)', () => {
  it.each<[GroupingStrategy, number]>([
    ['simple', 0.996],
    ['first', 0.997],
    ['max', 0.997],
    ['average', 0.996],
  ])('%s: "En ##zo" → PER %f, then "UN" → ORG (B-ORG starts its own group)', (strategy, score) => {
    expect(simplified(aggregateTokenScores(ENZO_UN, CONLL, strategy, joinPieces))).toEqual([
      { entityGroup: 'PER', score, word: 'Enzo', indices: [1, 2] },
      { entityGroup: 'ORG', score: 0.999, word: 'UN', indices: [7] },
    ]);
  });

  it('labels without B-/I- prefixes count as I-: adjacent equal labels group (simple)', () => {
    const labels = ['O', 'MISC', 'PER', 'ORG', 'LOC'];
    const tokens: TokenScores[] = [
      { ...ENZO_UN[0]!, scores: [0, 0, 0, 0, 0.9968166351318359] },
      { ...ENZO_UN[1]!, scores: [0, 0, 0, 0, 0.9957635998725891] },
      { ...ENZO_UN[2]!, scores: [0, 0, 0, 0.9986497163772583, 0] },
    ];
    expect(simplified(aggregateTokenScores(tokens, labels, 'simple', joinPieces))).toEqual([
      { entityGroup: 'LOC', score: 0.996, word: 'Enzo', indices: [1, 2] },
      { entityGroup: 'ORG', score: 0.999, word: 'UN', indices: [7] },
    ]);
  });

  describe('one word whose pieces disagree ("Ra ##ma ##zotti")', () => {
    const tokens: TokenScores[] = [
      { word: 'Ra', index: 1, isSubword: false, scores: [0, 0.55, 0, 0.45, 0, 0, 0, 0, 0, 0] },
      { word: '##ma', index: 2, isSubword: true, scores: [0, 0, 0, 0.2, 0, 0, 0, 0.8, 0, 0] },
      { word: '##zotti', index: 3, isSubword: true, scores: [0, 0, 0, 0.4, 0, 0, 0.6, 0, 0, 0] },
    ];
    it.each<[GroupingStrategy, string, number]>([
      ['first', 'MISC', 0.55], // the first piece's tag
      ['max', 'LOC', 0.8], // the most confident piece's tag
      ['average', 'PER', 0.35], // the best of the averaged probabilities: B-PER, no piece's own tag
    ])('%s → %s %f', (strategy, entityGroup, score) => {
      expect(simplified(aggregateTokenScores(tokens, CONLL, strategy, joinPieces))).toEqual([{ entityGroup, score, word: 'Ramazotti', indices: [1, 2, 3] }]);
    });
    it('simple tags each piece: B-MISC, then B-LOC and I-ORG start groups of their own (a group that starts mid-word keeps its ##, as transformers\' "##uelo Araújo Noguera")', () => {
      expect(simplified(aggregateTokenScores(tokens, CONLL, 'simple', joinPieces)).map((g) => [g.entityGroup, g.word])).toEqual([
        ['MISC', 'Ra'],
        ['LOC', '##ma'],
        ['ORG', '##zotti'],
      ]);
    });
  });

  it('B- starts a group, I- of the same tag continues it, another tag ends it; O groups are left out by default', () => {
    const labels = ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC'];
    const one = (word: string, index: number, label: number, p = 0.9): TokenScores => ({ word, index, isSubword: false, scores: labels.map((_, k) => (k === label ? p : (1 - p) / 4)) });
    const tokens = [one('Sarah', 1, 1), one('Jessica', 2, 2), one('Parker', 3, 2, 0.7), one('lives', 4, 0), one('Jessica', 5, 1), one('Paris', 6, 4), one('New', 7, 3), one('York', 8, 4, 0.5)];
    const out = simplified(aggregateTokenScores(tokens, labels, 'first', joinPieces));
    expect(out).toEqual([
      { entityGroup: 'PER', score: 0.833, word: 'Sarah Jessica Parker', indices: [1, 2, 3] },
      { entityGroup: 'PER', score: 0.9, word: 'Jessica', indices: [5] },
      { entityGroup: 'LOC', score: 0.9, word: 'Paris', indices: [6] }, // I-LOC after I-PER: another tag, a new group
      { entityGroup: 'LOC', score: 0.7, word: 'New York', indices: [7, 8] },
    ]);
    // with ignoreLabels [] the O word comes back as a group of its own
    expect(aggregateTokenScores(tokens, labels, 'first', joinPieces, []).map((g) => g.entityGroup)).toEqual(['PER', 'O', 'PER', 'LOC', 'LOC']);
    // ignoreLabels applies to the entity group (without prefix)
    expect(aggregateTokenScores(tokens, labels, 'first', joinPieces, ['O', 'PER']).map((g) => g.word)).toEqual(['Paris', 'New York']);
  });

  it('ties go to the first label (numpy argmax); max takes the first of equally confident pieces', () => {
    const labels = ['O', 'B-X', 'B-Y'];
    const tokens: TokenScores[] = [
      { word: 'a', index: 1, isSubword: false, scores: [0.2, 0.4, 0.4] },
      { word: '##b', index: 2, isSubword: true, scores: [0.1, 0.1, 0.8] },
      { word: '##c', index: 3, isSubword: true, scores: [0.8, 0.1, 0.1] },
    ];
    expect(aggregateTokenScores(tokens, labels, 'first', joinPieces)[0]!.entityGroup).toBe('X');
    expect(aggregateTokenScores(tokens, labels, 'max', joinPieces, [])[0]!.entityGroup).toBe('Y');
  });

  it('refuses an unknown strategy and a score without a label (PIPELINE_OPTION)', () => {
    expect(() => aggregateTokenScores(ENZO_UN, CONLL, 'none' as GroupingStrategy, joinPieces)).toThrow(/PIPELINE_OPTION|aggregationStrategy must be one of/);
    expect(() => aggregateTokenScores(ENZO_UN, CONLL, 'mean' as GroupingStrategy, joinPieces)).toThrow(/aggregationStrategy must be one of/);
    expect(() => aggregateTokenScores(ENZO_UN, ['O', 'X'], 'simple', joinPieces)).toThrow(/no label for score 4/);
  });
});

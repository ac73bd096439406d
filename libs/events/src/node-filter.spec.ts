import fc from 'fast-check';
import {
  LIMITS,
  matchesNodeFilter,
  NODE_FILTER_FIELDS,
  NODE_FILTER_INTEGER_MAX,
  NODE_FILTER_OPERATORS_OF,
  NodeFilterError,
  nodeFilterHelp,
  parseNodeFilter,
  type NodeFilterable,
  type NodeFilterField,
} from './index';

/** The terms of a filter as [field, op, values]: what the query is built from. */
const termsOf = (src: string) => parseNodeFilter(src).terms.map((t) => [t.field, t.op, t.values]);

/** The error a filter gets: where, in which term, and what was expected there. */
function errorOf(src: string): NodeFilterError {
  try {
    parseNodeFilter(src);
  } catch (err) {
    if (err instanceof NodeFilterError) return err;
    throw err;
  }
  throw new Error(`${JSON.stringify(src)} parsed`);
}

const node = (over: Partial<NodeFilterable> = {}): NodeFilterable => ({
  gpuModel: 'H100',
  gpuCount: 8,
  vramGiB: 80,
  region: 'eu-west',
  latencyMs: 12,
  tee: false,
  reputation: 0.94,
  benchmarkScore: 1840,
  online: true,
  providerId: 'acme',
  ...over,
});
const matches = (src: string, n: NodeFilterable) => matchesNodeFilter(parseNodeFilter(src), n);

describe('the node filter language: parsing', () => {
  it('given the example of the issue, then it reads four ANDed terms, typed by field', () => {
    expect(termsOf('gpu=H100 vram>=80 region in [eu-west,us-east] reputation>0.9')).toEqual([
      ['gpu', '=', ['H100']],
      ['vram', '>=', [80]],
      ['region', 'in', ['eu-west', 'us-east']],
      ['reputation', '>', [0.9]],
    ]);
  });

  it('given an empty or all-space filter, then there are no terms (every node passes)', () => {
    expect(termsOf('')).toEqual([]);
    expect(termsOf('   \t ')).toEqual([]);
  });

  it.each([
    ['=', 'gpus=4', 4],
    ['!=', 'gpus!=4', 4],
    ['<', 'gpus<4', 4],
    ['<=', 'gpus<=4', 4],
    ['>', 'gpus>4', 4],
    ['>=', 'gpus>=4', 4],
  ])('given the operator %s, then it is read with its value', (op, src, value) => {
    expect(termsOf(src)).toEqual([['gpus', op, [value]]]);
  });

  it.each([
    ['in', 'gpus in [1,2,4]', [1, 2, 4]],
    ['notin', 'gpus notin [1, 2 , 4 ]', [1, 2, 4]],
    ['in', 'gpus in[8]', [8]],
    ['in', 'gpus IN [8]', [8]],
    ['notin', 'gpus NotIn [8]', [8]],
  ])('given the list operator %s (%s), then it reads every value of the list', (op, src, values) => {
    expect(termsOf(src)).toEqual([['gpus', op, values]]);
  });

  it('given spaces around an operator, then the term reads the same as without', () => {
    expect(termsOf('vram >= 80   gpu = H100 region  in  [ eu-west ]')).toEqual(termsOf('vram>=80 gpu=H100 region in [eu-west]'));
  });

  it('given every field, then each reads its column with values of its type', () => {
    const parsed = parseNodeFilter('gpu=H100 gpus=2 vram=80 region=eu-west latency<=20 tee=true reputation>=0.5 benchmark>1000.5 online=false provider=acme-1');
    expect(parsed.terms.map((t) => [t.field, t.column, t.type, t.values[0]])).toEqual([
      ['gpu', 'gpuModel', 'text', 'H100'],
      ['gpus', 'gpuCount', 'integer', 2],
      ['vram', 'vramGiB', 'integer', 80],
      ['region', 'region', 'text', 'eu-west'],
      ['latency', 'latencyMs', 'integer', 20],
      ['tee', 'tee', 'boolean', true],
      ['reputation', 'reputation', 'number', 0.5],
      ['benchmark', 'benchmarkScore', 'number', 1000.5],
      ['online', 'online', 'boolean', false],
      ['provider', 'providerId', 'text', 'acme-1'],
    ]);
  });

  it('given the API name of a field or another case, then it is the same field', () => {
    expect(termsOf('gpuModel=H100 VRAMGIB>=80 Region=eu-west latencyMs<5 benchmarkScore>1 providerId=p gpuCount=1 TEE=TRUE')).toEqual([
      ['gpu', '=', ['H100']],
      ['vram', '>=', [80]],
      ['region', '=', ['eu-west']],
      ['latency', '<', [5]],
      ['benchmark', '>', [1]],
      ['provider', '=', ['p']],
      ['gpus', '=', [1]],
      ['tee', '=', [true]],
    ]);
  });

  it('given quoted values, then the quotes are dropped and what they hold is the value (spaces and symbols included)', () => {
    expect(termsOf(`gpu="RTX6000-Ada" region in ['eu west', "a,b]"] gpus="4"`)).toEqual([
      ['gpu', '=', ['RTX6000-Ada']],
      ['region', 'in', ['eu west', 'a,b]']],
      ['gpus', '=', [4]],
    ]);
  });

  it('given one field twice, then both terms stand (a range)', () => {
    expect(termsOf('vram>=24 vram<=48')).toEqual([
      ['vram', '>=', [24]],
      ['vram', '<=', [48]],
    ]);
  });

  it('keeps where each term starts and its text', () => {
    expect(parseNodeFilter('  gpu=H100   vram >= 80').terms.map((t) => [t.position, t.text])).toEqual([
      [2, 'gpu=H100'],
      [13, 'vram >= 80'],
    ]);
  });
});

describe('the node filter language: refusals name the term, the position and what was expected', () => {
  it.each([
    ['an unknown field', 'gpu=H100 colour=blue', 9, 'colour=blue', /a field name \(gpu, gpus, vram, region, latency, tee, reputation, benchmark, online, provider\)/],
    ['no field', 'gpu=H100 >=80', 9, '>=80', /a field name/],
    ['no operator', 'vram 80', 5, 'vram 80', /an operator for vram \(integer\): = != < <= > >= in notin/],
    ['a bare field', 'online', 6, 'online', /an operator for online \(boolean\): = !=/],
    ['an operator a text field lacks', 'gpu>H100', 3, 'gpu>H100', /an operator for gpu \(text\): = != in notin/],
    ['a list on a number field', 'reputation in [0.5]', 11, 'reputation in [0.5]', /an operator for reputation \(number\): = != < <= > >=$/],
    ['an order on a boolean', 'tee<true', 3, 'tee<true', /an operator for tee \(boolean\): = !=$/],
    ['a doubled operator', 'gpu==H100', 4, 'gpu==H100', /a value for gpu \(text of 1-64 characters\)/],
    ['no value', 'gpu=', 4, 'gpu=', /a value for gpu/],
    // spaces may follow an operator, so the next term is read as the value, and what follows it is refused
    ['no value before the next term', 'gpu= vram>=80', 9, 'gpu= vram>=80', /a space before the next term/],
    ['text for an integer', 'vram>=lots', 6, 'vram>=lots', /a value for vram: an integer 0\.\.2147483647/],
    ['a decimal for an integer', 'vram>=79.5', 6, 'vram>=79.5', /an integer/],
    ['a negative integer', 'latency>-1', 8, 'latency>-1', /an integer 0\.\./],
    ['an integer past the column', `gpus<${NODE_FILTER_INTEGER_MAX + 1}`, 5, `gpus<${NODE_FILTER_INTEGER_MAX + 1}`, /an integer/],
    ['text for a number', 'reputation>high', 11, 'reputation>high', /a non-negative decimal number/],
    ['a number with an exponent', 'benchmark>1e3', 10, 'benchmark>1e3', /a non-negative decimal number/],
    ['a boolean spelled otherwise', 'tee=yes', 4, 'tee=yes', /a value for tee: true or false/],
    ['a provider that is no id', 'provider="a b"', 9, 'provider="a b"', /an id \(1-128 of A-Z a-z 0-9 _ -\)/],
    ['an empty quoted value', 'gpu=""', 4, 'gpu=""', /a value for gpu: text of 1-64 characters/],
    ['a GPU model past its length', `gpu=${'X'.repeat(65)}`, 4, `gpu=${'X'.repeat(65)}`, /text of 1-64 characters/],
    ['an unterminated quote', 'gpu="H100 vram>=80', 4, 'gpu="H100 vram>=80', /a closing quote "/],
    ['no list after in', 'region in eu-west', 10, 'region in eu-west', /a list of values in brackets/],
    ['an empty list', 'region in []', 11, 'region in []', /a value for region/],
    ['an unclosed list', 'region in [a,b', 14, 'region in [a,b', /a comma or the closing bracket \]/],
    ['a list without commas', 'region in [a b]', 13, 'region in [a b]', /a comma or the closing bracket/],
    ['a trailing comma', 'region in [a,]', 13, 'region in [a,]', /a value for region/],
    ['a mistyped list item', 'gpus in [1,two,4]', 11, 'gpus in [1,two,4]', /a value for gpus: an integer/],
    ['terms not separated', 'gpu=H100,A100', 8, 'gpu=H100,A100', /a space before the next term/],
    ['something after a list', 'region in [a]x', 13, 'region in [a]x', /a space before the next term/],
    ['a word that is not an operator', 'gpu inx [H100]', 4, 'gpu inx [H100]', /an operator for gpu/],
  ])('given %s (%s), then BAD_FILTER at %i naming %s', (_what, src, position, term, expected) => {
    const err = errorOf(src);
    expect({ position: err.position, term: err.term }).toEqual({ position, term });
    expect(err.expected).toMatch(expected);
    expect(err.message).toBe(`filter at ${position} (${JSON.stringify(term)}): expected ${err.expected}`);
    expect(err.details).toEqual({ position, term, expected: err.expected });
  });

  it('given a filter past its length, then it is refused at the limit before it is read', () => {
    const err = errorOf(`gpu=H100 ${'x'.repeat(LIMITS.nodeFilterLengthMax)}`);
    expect(err).toMatchObject({ position: LIMITS.nodeFilterLengthMax, expected: `at most ${LIMITS.nodeFilterLengthMax} characters` });
    // at the limit it is read (and here refused for what it says, not for its length)
    const atLimit = `gpus>=1${' '.repeat(LIMITS.nodeFilterLengthMax - 7)}`;
    expect(atLimit).toHaveLength(LIMITS.nodeFilterLengthMax);
    expect(termsOf(atLimit)).toEqual([['gpus', '>=', [1]]]);
  });

  it('given more terms than the limit, then the first term past it is refused where it starts', () => {
    const terms = Array.from({ length: LIMITS.nodeFilterTermsMax }, (_, i) => `gpus>=${i}`);
    expect(parseNodeFilter(terms.join(' ')).terms).toHaveLength(LIMITS.nodeFilterTermsMax);
    const src = [...terms, 'vram>=1'].join(' ');
    expect(errorOf(src)).toMatchObject({ position: src.indexOf('vram'), term: 'vram>=1', expected: `at most ${LIMITS.nodeFilterTermsMax} terms` });
  });

  it('given a list longer than the limit, then the first value past it is refused', () => {
    const items = Array.from({ length: LIMITS.nodeFilterListItemsMax }, (_, i) => `r${i}`);
    expect(termsOf(`region in [${items.join(',')}]`)[0][2]).toHaveLength(LIMITS.nodeFilterListItemsMax);
    const src = `region in [${[...items, 'one-more'].join(',')}]`;
    expect(errorOf(src)).toMatchObject({ position: src.indexOf('one-more'), term: src, expected: `at most ${LIMITS.nodeFilterListItemsMax} values in a list` });
  });

  it.each([
    ['a NUL', 'gpu=H1\u000000', 6],
    ['a control character', 'gpu=\u0007H100', 4],
    ['a lone surrogate', 'gpu=H\uD800100', 5],
  ])('given %s, then it is refused where it is (Postgres could not compare it)', (_what, src, position) => {
    expect(errorOf(src)).toMatchObject({ position, expected: 'printable text (no control characters, no lone surrogates)' });
  });

  it('given any string, then it parses or is a NodeFilterError, never anything else', () => {
    const alphabet = fc.constantFrom(...'gpu vram region in notin tee true reputation 0.9 80 [ ] , = ! < > " \' H100 eu-west \t'.split(/(?=.)/u));
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 60 }), fc.array(alphabet, { maxLength: 40 }).map((a) => a.join(''))), (src) => {
        try {
          parseNodeFilter(src);
        } catch (err) {
          expect(err).toBeInstanceOf(NodeFilterError);
          const e = err as NodeFilterError;
          expect(e.position).toBeGreaterThanOrEqual(0);
          expect(e.position).toBeLessThanOrEqual(src.length);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('the node filter language: what it matches', () => {
  it.each([
    ['gpu=H100', true],
    ['gpu=h100', false], // the catalogue's spelling, exactly
    ['gpu!=H100', false],
    ['gpu in [A100,H100]', true],
    ['gpu notin [A100,H100]', false],
    ['gpus=8', true],
    ['gpus!=8', false],
    ['gpus<8', false],
    ['gpus<=8', true],
    ['gpus>7', true],
    ['gpus>=9', false],
    ['gpus in [1,8]', true],
    ['gpus notin [1,8]', false],
    ['vram>=80 region=eu-west', true],
    ['vram>=80 region=us-east', false],
    ['latency<12', false],
    ['latency<=12', true],
    ['tee=false', true],
    ['tee!=false', false],
    ['online=true', true],
    ['reputation>0.9', true],
    ['reputation=0.94', true],
    ['reputation>0.94', false],
    ['benchmark>=1840', true],
    ['benchmark>1840', false],
    ['provider=acme', true],
    ['provider in [other]', false],
    ['', true],
  ])('given %s, then the node %s', (src, expected) => {
    expect(matches(src, node())).toBe(expected);
  });

  it('given a filter, then a node passes only when it passes every term', () => {
    const nodes = [node(), node({ vramGiB: 24, gpuModel: 'RTX4090' }), node({ region: 'us-east' }), node({ online: false })];
    const passing = nodes.filter((n) => matches('vram>=80 region in [eu-west,us-east] online=true', n));
    expect(passing).toEqual([nodes[0], nodes[2]]);
  });
});

describe('the node filter language: its documentation', () => {
  it('names every field, its column, its type and its operators', () => {
    const help = nodeFilterHelp();
    for (const [name, f] of Object.entries(NODE_FILTER_FIELDS) as [NodeFilterField, (typeof NODE_FILTER_FIELDS)[NodeFilterField]][]) {
      expect(help).toContain(`- ${name} (${f.column}; ${f.type}: ${NODE_FILTER_OPERATORS_OF[f.type].join(' ')})`);
    }
    expect(help).toContain(`At most ${LIMITS.nodeFilterLengthMax} characters, ${LIMITS.nodeFilterTermsMax} terms, ${LIMITS.nodeFilterListItemsMax} values in a list`);
  });
});

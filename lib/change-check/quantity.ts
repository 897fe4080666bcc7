// Kubernetes resource quantities (internal): parsed exactly, so that sizes written in different
// units compare as the API server compares them (`1Gi` equals `1024Mi`; a claim may grow from
// `10Gi` to `10.5Gi`). cdk8s' Size only formats quantities; it does not read them.
//
// The grammar (k8s.io/apimachinery/pkg/api/resource):
//   <quantity> ::= <sign>? <digits>[.<digits>] <suffix>
//   <suffix>   ::= Ki | Mi | Gi | Ti | Pi | Ei          binary, powers of 1024
//               |  n | u | m | "" | k | M | G | T | P | E   decimal SI
//               |  (e|E) <sign>? <digits>              decimal exponent

/** An exact rational value: numerator / denominator, the denominator positive. */
export interface Quantity {
  readonly numerator: bigint;
  readonly denominator: bigint;
  /** The text it was read from. */
  readonly text: string;
}

const BINARY: { [suffix: string]: number } = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };
const DECIMAL: { [suffix: string]: number } = { 'n': -9, 'u': -6, 'm': -3, '': 0, 'k': 3, 'M': 6, 'G': 9, 'T': 12, 'P': 15, 'E': 18 };
const FORM = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;

/** Parses a quantity (a string, or a number as YAML may give it); undefined when it is not one. */
export function parseQuantity(value: unknown): Quantity | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') {
    return undefined;
  }
  const text = String(value).trim();
  const match = FORM.exec(text);
  if (!match) {
    return undefined;
  }
  const [, sign, number, suffix = ''] = match;
  const [whole, fraction = ''] = number.split('.');
  let numerator = BigInt(`${whole || '0'}${fraction}`) * (sign === '-' ? -1n : 1n);
  let denominator = 10n ** BigInt(fraction.length);
  if (suffix in BINARY) {
    numerator *= 1024n ** BigInt(BINARY[suffix]);
  } else {
    const exponent = suffix in DECIMAL ? DECIMAL[suffix] : Number(suffix.slice(1));
    if (Math.abs(exponent) > 1000) {
      return undefined;
    }
    if (exponent >= 0) {
      numerator *= 10n ** BigInt(exponent);
    } else {
      denominator *= 10n ** BigInt(-exponent);
    }
  }
  return { numerator, denominator, text };
}

/** -1, 0 or 1 as a is smaller than, equal to or larger than b. */
export function compareQuantities(a: Quantity, b: Quantity): number {
  const left = a.numerator * b.denominator;
  const right = b.numerator * a.denominator;
  return left < right ? -1 : left > right ? 1 : 0;
}

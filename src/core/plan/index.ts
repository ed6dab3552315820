/** Value plans: which values each conversation of a batch gets. Pure: no `vscode`, no I/O. */
export * from './types';
export { domainOf, variableDomains, spread, type Domain, type DomainResult, type DomainSource, type VariableDomain } from './domain';
export { buildPlan, type PlanOptions } from './build';
export { parseValuesFile, type ValuesFileKind } from './valuesFile';
export { planKey, remainingPlan } from './key';
export { explicitPlan, type ExplicitCell } from './explicit';

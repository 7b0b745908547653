// kubectl-style field paths: spec.egress[0].hosts, spec.workloadSelector.labels[app].

export const childPath = (parent: string, name: string): string => (parent === '' ? name : `${parent}.${name}`);

export const indexPath = (parent: string, index: number | string): string => `${parent}[${index}]`;

export const keyPath = (parent: string, key: string): string => `${parent}[${key}]`;

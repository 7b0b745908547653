// Types for node-version.js (the bin runs as plain JavaScript, before any build).
export declare const MINIMUM_NODE_MAJOR: number;
export declare function nodeVersionProblem(version?: string, toolsNode?: string): string | undefined;

import type { BatchResult } from './target-connection';

/**
 * What the replay writes to: one pipelined standalone connection (TargetConnection) or a cluster
 * router (ClusterTargetConnection). Bytes are whole RESP commands; one reply is counted per command.
 */
export interface TargetLink {
  connect(): Promise<void>;
  send(bytes: Uint8Array, replyCount: number): Promise<BatchResult>;
  /** One command in several pieces (a RESTORE written from the parser's buffer). */
  sendParts(parts: readonly Uint8Array[], replyCount: number): Promise<BatchResult>;
  sendCommands(commands: readonly (readonly (string | Buffer)[])[]): Promise<BatchResult>;
  close(): void;
}

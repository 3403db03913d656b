export interface DeployOptions {
  /** how long providers may bid, ms */
  bidWindow?: string
  /** ask the providers what they would bid; publish no order */
  dryRun?: boolean
  /** --failover sets true, --no-failover false; neither leaves souk.yaml to decide */
  failover?: boolean
  /** print the outcome as JSON */
  json?: boolean
}

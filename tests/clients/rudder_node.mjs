// Sends one customer's usage through the official RudderStack Node client, gzip on:
// node rudder_node.mjs BASE_URL WRITE_KEY USER GROUP
import Analytics from '@rudderstack/rudder-sdk-node'

const [base, writeKey, userId, groupId] = process.argv.slice(2)
let failed = false
const client = new Analytics(writeKey, {
  dataPlaneUrl: base,
  gzip: true,
  flushAt: 10,
  retryCount: 1,
  logLevel: 'error',
  errorHandler: (error) => {
    failed = true
    console.error('rudderstack node client error:', error)
  },
})
client.identify({ userId, traits: { email: `${userId}@customer.example`, name: 'Rudder Node' } })
client.group({ userId, groupId, traits: { name: `Group ${groupId}`, employees: 50 } })
client.track({ userId, event: 'Payslip Distributed', context: { groupId } })
client.track({ userId, event: 'Report Exported', properties: { rows: 12 } })
client.page({ userId, name: 'Dashboard' })
client.screen({ userId, name: 'Mobile Home' })
// The promise of flush() settles once the queued batch has been answered; the second call
// waits for any flush still in flight.
await client.flush()
await client.flush()
process.exit(failed ? 1 : 0)

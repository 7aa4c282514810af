// Sends one customer's usage through the official Segment Node client: node segment_node.mjs BASE_URL WRITE_KEY USER GROUP
import { Analytics } from '@segment/analytics-node'

const [base, writeKey, userId, groupId] = process.argv.slice(2)
const analytics = new Analytics({ writeKey, host: base, flushAt: 3, maxRetries: 2 })
let failed = false
analytics.on('error', (error) => {
  failed = true
  console.error('segment node client error:', error)
})
analytics.identify({ userId, traits: { email: `${userId}@customer.example`, name: 'Segment Node' } })
analytics.group({ userId, groupId, traits: { name: `Group ${groupId}`, employees: 50 } })
analytics.track({ userId, event: 'Payslip Distributed', context: { groupId } })
analytics.track({ userId, event: 'Report Exported', properties: { rows: 12 } })
// The client accepts a blank event name; Kizuna refuses only this message and stores the rest.
analytics.track({ userId, event: ' ', context: { groupId } })
analytics.page({ userId, name: 'Dashboard' })
analytics.screen({ userId, name: 'Mobile Home' })
await analytics.closeAndFlush({ timeout: 10000 })
process.exit(failed ? 1 : 0)

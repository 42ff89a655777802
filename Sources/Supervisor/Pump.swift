import LoopKit
import Logging
import RingChannel
import RingmasterRendering

extension Supervisor {
    /// Queues an instance for a drain turn on the next pass of the loop.
    func markReady(_ instance: Instance) {
        if readyForPump.insert(instance.id).inserted { pumpAsync.send() }
    }

    /// One pass over the ready instances, each drained up to the budget; instances with more to
    /// read stay queued for the next pass, so a busy worker cannot starve the others.
    func pumpReady() {
        let ready = readyForPump
        readyForPump.removeAll(keepingCapacity: true)
        for id in ready.sorted() {
            pump(instances[id])
        }
        if !readyForPump.isEmpty { pumpAsync.send() }
    }

    /// Drains one budget's worth of records from an instance's ring and routes them.
    private func pump(_ instance: Instance) {
        guard instance.state == .running || instance.state == .draining else { return }
        guard instance.reader.violation == nil else {
            if instance.state == .draining { settle(instance) }
            return
        }
        if !instance.routes.allSatisfy({ hosts[$0].hasRoom }) {
            logger.trace("\(instance.label): held back")
            heldBack.insert(instance.id)
            return
        }
        // Sized like the last batch, from a finished batch's storage: a busy ring then costs no
        // allocation, regrowth or page fault per drain.
        var records = recordArrays.take(minimumCapacity: instance.lastBatchCount)
        var payloadBytes = 0
        // The per-record counters live in locals while the drain runs (a class property costs an
        // access check per use) and go back to the instance however the drain ends.
        var delivered = instance.delivered
        var sinceCheckpoint = instance.sinceCheckpoint
        let firstReserved = RecordType.firstReserved
        let workerName = UnsafePointer(instance.cWorkerName.baseAddress)
        let workerLength = instance.cWorkerName.count - 1
        let instanceIndex = UInt32(instance.index)
        let format = instance.formatCode
        let generation = instance.generation
        let summary: DrainSummary
        do throws(RingViolation) {
            defer {
                instance.delivered = delivered
                instance.sinceCheckpoint = sinceCheckpoint
            }
            summary = try instance.reader.drain(maxBytes: options.drainBudget) { record in
                // Producer types (1...0xEFFF) first, by value: matching the reserved types below
                // costs a call into RingChannel per type per record.
                if _fastPath(record.type.rawValue < firstReserved) {
                    records.append(RoutedRecord(worker: workerName, worker_length: workerLength, instance: instanceIndex,
                                                type: record.type.rawValue, format: format, generation: generation,
                                                sequence: delivered,
                                                payload: record.payload.baseAddress?.assumingMemoryBound(to: UInt8.self),
                                                length: record.payload.count))
                    payloadBytes &+= record.payload.count
                    delivered &+= 1
                    sinceCheckpoint &+= 1
                    return
                }
                switch record.type {
                case .checkpoint:
                    instance.checkpoint = Array(record.payload)
                    sinceCheckpoint = 0
                case .endOfStream:
                    instance.sawEndOfStream = true
                case .logLine:
                    logger.info("[\(instance.label)] \(RecordRendering.readable(record.payload, format: .text))", metadata: ["stream": "ring"])
                case .heartbeat:
                    break
                default:
                    records.append(RoutedRecord(worker: workerName, worker_length: workerLength, instance: instanceIndex,
                                                type: record.type.rawValue, format: format, generation: generation,
                                                sequence: delivered,
                                                payload: record.payload.baseAddress?.assumingMemoryBound(to: UInt8.self),
                                                length: record.payload.count))
                    payloadBytes &+= record.payload.count
                    delivered &+= 1
                    sinceCheckpoint &+= 1
                }
            }
        } catch {
            // What came before the violation is whole: deliver it; the ring is not released again.
            dispatch(records, payloadBytes: payloadBytes, end: nil, from: instance)
            quarantine(instance, error)
            return
        }
        logger.trace("\(instance.label): drained \(summary.records) records, \(summary.bytes) bytes, end \(summary.end)")
        if summary.records > 0 { instance.stall?.restartClock() }
        instance.lastBatchCount = records.count
        if summary.bytes > 0 {
            dispatch(records, payloadBytes: payloadBytes, end: summary.end, from: instance)
            markReady(instance)
            return
        }
        // Nothing new.
        recordArrays.recycle(records)
        switch instance.state {
        case .running:
            // Announce sleep; if records slipped in meanwhile, take another turn instead.
            let pending = instance.reader.prepareToSleep()
            logger.trace("\(instance.label): sleeping? pending=\(pending) position=\(instance.reader.position)")
            if pending {
                instance.reader.markAwake()
                markReady(instance)
            }
        case .draining:
            settle(instance)
        default:
            break
        }
    }

    /// Hands a batch to every consumer on the instance's route and records it as outstanding
    /// until they are all done; without records or routes it is released at once (in order).
    private func dispatch(_ records: [RoutedRecord], payloadBytes: Int, end: UInt64?, from instance: Instance) {
        instance.bytesDelivered += UInt64(payloadBytes)
        let holders = records.isEmpty ? 0 : instance.routes.count
        instance.outstanding.append(Instance.Outstanding(end: end, remaining: holders, records: UInt64(records.count)))
        for route in instance.routes where holders > 0 { consumerCounts[route].submitted += UInt64(records.count) }
        let serial = instance.nextSerial
        instance.nextSerial &+= 1
        if holders > 0 {
            let origin = RecordOrigin(worker: instance.worker.name, instance: instance.index,
                                      generation: instance.generation, format: instance.worker.format)
            let batch = DeliveryBatch(ticket: BatchTicket(instance: instance.id, serial: serial),
                                      batch: RecordBatch(origin: origin, records: records, payloadBytes: payloadBytes),
                                      recycleInto: recordArrays)
            for route in instance.routes {
                let accepted = hosts[route].submit(batch)
                precondition(accepted, "consumer queue full after hasRoom said otherwise")
            }
        } else {
            recordArrays.recycle(records)
        }
        advance(instance)
    }
}

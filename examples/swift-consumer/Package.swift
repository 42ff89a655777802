// swift-tools-version: 6.1
// A consumer plugin written in Swift, built as its own package against Ringmaster by path.
// `swift build -c release` writes .build/release/liblinecount.so; manifest.yaml loads it.
import PackageDescription

let package = Package(
    name: "SwiftConsumerExample",
    products: [
        .library(name: "linecount", type: .dynamic, targets: ["LineCount"]),
    ],
    dependencies: [
        .package(name: "Ringmaster", path: "../.."),
    ],
    targets: [
        .target(name: "LineCount", dependencies: [.product(name: "RingmasterConsumerKit", package: "Ringmaster")]),
    ]
)

package bq_test

import (
	"context"
	"log"

	"github.com/runaudit/runaudit/internal/audit"
	"github.com/runaudit/runaudit/internal/report/bq"
)

func Example() {
	ctx := context.Background()
	project, dataset, err := bq.ParseDataset("my-project.runaudit") // --bq-dataset
	if err != nil {
		log.Fatal(err)
	}
	sink, err := bq.New(ctx, bq.Config{
		Project: project,
		Dataset: dataset,
		// Endpoint: "http://127.0.0.1:9050", // goccy/bigquery-emulator
	})
	if err != nil {
		log.Fatal(err)
	}
	defer sink.Close()

	var res audit.Result // the run's result
	if err := sink.Write(ctx, res); err != nil {
		log.Fatal(err)
	}
}
